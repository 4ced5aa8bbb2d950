// A TypeScript task module with an npm import (zod, which bramble itself depends on): the longest
// Collatz chain below each chunk's end. esbuild bundles the import into the module at submit.
//   bramble run ./examples/ts-collatz/task.ts --start 1 --end 1e6 --param cap=1e9
import { defineTask, param, check } from 'bramble';
import { z } from 'zod';

const Summary = z.object({ best: z.string(), steps: z.number().int().min(0) });
type Summary = z.infer<typeof Summary>;

function steps(n: bigint, cap: number): number {
  let k = 0;
  while (n !== 1n && k < cap) {
    n = n % 2n === 0n ? n / 2n : 3n * n + 1n;
    k++;
  }
  return k;
}

export default defineTask({
  name: 'ts-collatz',
  description: 'longest Collatz chain in the range (TypeScript, with zod)',
  params: { cap: param.integer({ description: 'stop counting a chain at this many steps', default: 100_000, min: 1 }) },
  minStart: 1n,
  run(p, start, end) {
    let best = start;
    let most = -1;
    for (let n = start; n <= end; n++) {
      const s = steps(n, p.cap);
      if (s > most) {
        most = s;
        best = n;
      }
    }
    const summary: Summary = { best: best.toString(), steps: most };
    return { summary, output: null };
  },
  checkSummary: (raw): Summary => {
    check.map(raw);
    return Summary.parse(raw);
  },
  fold() {
    let top: Summary = { best: '0', steps: -1 };
    return {
      add: (_i, _s, _e, x) => {
        if (x.steps > top.steps) top = x;
      },
      result: () => ({ best: top.best, steps: String(top.steps) }),
    };
  },
});
