import { defaultChunk } from '../../core/index.js';
import { collatzSteps, collatzVerify, implausibleCollatz, verifySieve } from '../../kernels/index.js';
import type { Folder } from '../define-task.js';
import { badSummary, defineTask, param } from '../define-task.js';
import { check } from '../summary.js';

function fold(): Folder {
  let count = 0n;
  let checked = 0n;
  let total = 0n;
  let mode = 'steps';
  let ln: string | null = null;
  let ls = -1;
  let hn: string | null = null;
  let hv = -1n;
  return {
    add(_i, _s, _e, sum) {
      mode = sum['m'] as string;
      count += BigInt(sum['c'] as number);
      if (mode === 'verify') checked += BigInt(sum['k'] as number);
      else {
        total += BigInt(sum['t'] as string);
        if ((sum['ls'] as number) > ls) {
          ls = sum['ls'] as number;
          ln = sum['ln'] as string;
        }
      }
      const v = BigInt(sum['hv'] as string);
      if (v > hv) {
        hv = v;
        hn = sum['hn'] as string;
      }
    },
    result() {
      const highest = hn === null ? null : { n: hn, value: hv.toString() };
      if (mode === 'verify') {
        // the residue sieve that let the other numbers be skipped (Barina's method)
        const sieve = verifySieve();
        return { mode, count: count.toString(), verified: count.toString(), checked: checked.toString(), highest, sieve: { modulus: `2^${sieve.bits}`, kept: String(sieve.survivors) } };
      }
      return { mode, count: count.toString(), longest: ln === null ? null : { n: ln, steps: String(ls) }, highest, totalSteps: total.toString() };
    },
  };
}

/** Collatz over [start, end]: stopping times and records (`steps`), or `verify` (Barina's method). */
export default defineTask({
  name: 'collatz',
  order: 2,
  description: 'Collatz: steps of every n in [start, end] (record and highest value), or --mode verify',
  params: {
    mode: param.choice(['steps', 'verify'], { description: 'steps (stopping time of every n, records) or verify (every n reaches 1)', default: 'steps' }),
  },
  minStart: 1n,
  defaultChunkSize: (start, end, slots) => defaultChunk(start, end, 200_000n, slots * 4),
  run(params, start, end) {
    if (params.mode === 'verify') {
      const r = collatzVerify(start, end);
      return { summary: { m: 'verify', c: r.count, k: r.checked, hn: r.highest.n.toString(), hv: r.highest.value.toString() }, output: null };
    }
    const r = collatzSteps(start, end);
    return {
      summary: { m: 'steps', c: r.count, ln: r.longest.n.toString(), ls: r.longest.steps, hn: r.highest.n.toString(), hv: r.highest.value.toString(), t: r.totalSteps.toString() },
      output: null,
    };
  },
  checkSummary(raw, start, end) {
    const s = check.map(raw);
    const c = check.count(s['c'], 'count');
    if (BigInt(c) !== end - start + 1n) badSummary(`count ${c} does not match the chunk`);
    const hn = check.decimal(s['hn'], 'highest n', start, end);
    const hv = check.decimal(s['hv'], 'highest value', BigInt(hn));
    let r: { m: string; c: number; k?: number; ln?: string; ls?: number; hn: string; hv: string; t?: string };
    if (s['m'] === 'verify') r = { m: 'verify', c, k: check.count(s['k'], 'checked'), hn, hv };
    else if (s['m'] === 'steps') r = { m: 'steps', c, ln: check.decimal(s['ln'], 'longest n', start, end), ls: check.count(s['ls'], 'steps'), hn, hv, t: check.decimal(s['t'], 'total steps') };
    else badSummary('unknown mode');
    const why = implausibleCollatz(r);
    if (why) badSummary(why);
    return r;
  },
  fold,
  live() {
    const f = fold();
    return { add: (s) => f.add(0, 0n, 0n, s), snapshot: () => f.result() };
  },
});
