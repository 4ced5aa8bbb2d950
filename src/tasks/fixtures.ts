import type { Task } from './define-task.js';
import { registerTask } from './registry.js';

/**
 * Fixture tasks (written as a plain `Task`: their params are free-form, which `defineTask` does not allow) for fault tests, registered only when BRAMBLE_FIXTURES=1 (never in normal use):
 * - `fixture-crash`: chunk indices listed in `crash` kill the whole worker process (SIGKILL);
 * - `fixture-throw`: listed chunks throw; `fixture-sleep`: every chunk sleeps `ms`;
 * - `fixture-garbage`: returns a summary that fails validation;
 * - `fixture-work`: a --start/--end task costing `us` microseconds per number (times BRAMBLE_FIXTURE_SLOW).
 */
function base(name: string, run: Task['run']): Task {
  return {
    name,
    description: 'test fixture',
    paramInfo: [],
    needs: null,
    minStart: 0n,
    params: (raw) => ({ ...raw }),
    range: (p) => ({ start: 0n, end: BigInt(Number(p['chunks'] ?? 10)) - 1n, chunk: 1n }),
    defaultChunkSize: () => 1n,
    run,
    checkSummary: (raw) => {
      if (typeof raw !== 'object' || raw === null || typeof (raw as { n?: unknown }).n !== 'number') throw new Error('invalid chunk summary: n');
      return raw as Record<string, unknown>;
    },
    folder() {
      let sum = 0;
      let n = 0;
      return { add: (_i, _s, _e, s) => void ((sum += s['n'] as number), n++), result: () => ({ chunks: String(n), sum: String(sum) }) };
    },
    live() {
      let n = 0;
      return { add: () => void n++, snapshot: () => ({ chunks: String(n) }) };
    },
    output: null,
    outputParam: null,
    hasOutput: () => false,
    checkOutput: () => undefined,
    admit: () => ({}),
  };
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export function registerFixtures(): void {
  const list = (p: Record<string, unknown>, k: string): number[] => (Array.isArray(p[k]) ? (p[k] as number[]) : []);
  registerTask(
    base('fixture-crash', (p, s) => {
      if (list(p, 'crash').includes(Number(s))) process.kill(process.pid, 'SIGKILL');
      sleep(Number(p['ms'] ?? 0));
      return { summary: { n: Number(s) }, output: null };
    }),
  );
  registerTask(
    base('fixture-throw', (p, s) => {
      if (list(p, 'throw').includes(Number(s))) throw new Error(`fixture chunk ${s} throws`);
      return { summary: { n: Number(s) }, output: null };
    }),
  );
  registerTask(
    base('fixture-sleep', (p, s) => {
      sleep(Number(p['ms'] ?? 100));
      return { summary: { n: Number(s) }, output: null };
    }),
  );
  // a range task whose cost grows with the numbers it covers: `us` microseconds each, times the
  // worker's BRAMBLE_FIXTURE_SLOW (a slow machine), so sizing by time can be seen with real processes
  registerTask({
    ...base('fixture-work', (p, s, e) => {
      const n = Number(e - s + 1n);
      sleep((Number(p['us'] ?? 1000) * n * Number(process.env['BRAMBLE_FIXTURE_SLOW'] ?? 1)) / 1000);
      return { summary: { n }, output: null };
    }),
    range: undefined,
  });
  registerTask(base('fixture-garbage', () => ({ summary: { nope: true }, output: null })));
}

if (process.env['BRAMBLE_FIXTURES'] === '1') registerFixtures();
