import { parentPort } from 'node:worker_threads';
import { getTask } from '../tasks/index.js';

/** A request of CheckPool: the primes of [start, end] (decimal strings), as a --list chunk output. */
export interface CheckRequest {
  id: number;
  start: string;
  end: string;
}

export type CheckReply =
  | { id: number; ok: true; summary: Record<string, unknown>; output: Uint8Array | null; ms: number }
  | { id: number; ok: false; error: string; ms: number };

// Seed 000 answer checks, off the head's event loop (issue 17, item 19): the sieve of the chunk a
// client answered, computed exactly as a native worker computes it.
parentPort?.on('message', (m: CheckRequest) => {
  const t0 = performance.now();
  try {
    const r = getTask('primes').run({ list: true }, BigInt(m.start), BigInt(m.end));
    // a list that owns its whole buffer moves to the head's thread without a copy
    const out = r.output;
    const own = out !== null && out.byteOffset === 0 && out.byteLength === out.buffer.byteLength ? out : out?.slice() ?? null;
    const reply: CheckReply = { id: m.id, ok: true, summary: r.summary as Record<string, unknown>, output: own, ms: performance.now() - t0 };
    parentPort?.postMessage(reply, own ? [own.buffer as ArrayBuffer] : []);
  } catch (err) {
    parentPort?.postMessage({ id: m.id, ok: false, error: (err as Error).message, ms: performance.now() - t0 } satisfies CheckReply);
  }
});
