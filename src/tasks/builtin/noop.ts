import { defineTask, param } from '../define-task.js';
import { check } from '../summary.js';

/** Does nothing per chunk: measures the coordinator alone. */
export default defineTask({
  name: 'noop',
  order: 4,
  description: 'does nothing per chunk: measures the coordinator alone (--chunks N)',
  params: {
    chunks: param.integer({ description: 'number of chunks', default: 1000, min: 1, max: 100_000_000 }),
  },
  range: (p) => ({ start: 0n, end: BigInt(p.chunks) - 1n, chunk: 1n }),
  defaultChunkSize: () => 1n,
  run: () => ({ summary: {}, output: null }),
  checkSummary: (raw) => {
    check.map(raw);
    return {};
  },
  fold() {
    let n = 0;
    return { add: () => void n++, result: () => ({ chunks: String(n) }) };
  },
  live() {
    let n = 0;
    return { add: () => void n++, snapshot: () => ({ chunks: String(n) }) };
  },
});
