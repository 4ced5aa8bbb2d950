// Monte Carlo estimate of pi as a bramble task module:
//   bramble run ./examples/pi.mjs --start 1 --end 200 --param samples=100000
// Each number in [start, end] is one batch of `samples` darts, thrown with a generator seeded by the
// batch's number, so the answer is the same on any cluster, in any order, on any number of workers.
import { defineTask, param, check } from 'bramble';

/** mulberry32: a small, fast, seeded 32-bit generator. */
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export default defineTask({
  name: 'pi',
  description: 'Monte Carlo estimate of pi: `samples` darts per number of the range, seeded by the number',
  params: {
    samples: param.integer({ description: 'darts per number of the range', default: 10_000, min: 1, max: 100_000_000 }),
  },
  run(p, start, end) {
    let inside = 0;
    let total = 0;
    for (let n = start; n <= end; n++) {
      const rnd = mulberry32(Number(n % 4294967296n));
      for (let i = 0; i < p.samples; i++) {
        const x = rnd();
        const y = rnd();
        if (x * x + y * y <= 1) inside++;
      }
      total += p.samples;
    }
    return { summary: { inside, total }, output: null };
  },
  checkSummary: (raw) => {
    const s = check.map(raw);
    return { inside: check.count(s.inside, 'inside'), total: check.count(s.total, 'total') };
  },
  fold() {
    let inside = 0;
    let total = 0;
    return {
      add: (_i, _s, _e, x) => {
        inside += x.inside;
        total += x.total;
      },
      result: () => ({ pi: total ? ((4 * inside) / total).toFixed(8) : 'NaN', inside: String(inside), darts: String(total) }),
    };
  },
});
