import { parentPort } from 'node:worker_threads';
import { getTask } from '../kernels/index.js';

/** One slot: runs chunks of any task, one at a time, and posts the result back. */
export interface SlotRequest {
  id: number;
  task: string;
  params: Record<string, unknown>;
  start: string;
  end: string;
}
export type SlotReply =
  | { id: number; ok: true; summary: Record<string, unknown>; output: Uint8Array | null; ms: number }
  | { id: number; ok: false; error: string };

const port = parentPort;
if (!port) throw new Error('slot-thread must run in a worker thread');
port.on('message', (req: SlotRequest) => {
  const t0 = performance.now();
  try {
    const r = getTask(req.task).run(req.params, BigInt(req.start), BigInt(req.end));
    const reply: SlotReply = { id: req.id, ok: true, summary: r.summary, output: r.output, ms: performance.now() - t0 };
    port.postMessage(reply, r.output ? [r.output.buffer as ArrayBuffer] : []);
  } catch (err) {
    const reply: SlotReply = { id: req.id, ok: false, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
    port.postMessage(reply);
  }
});
