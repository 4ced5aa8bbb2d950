import { parentPort } from 'node:worker_threads';
import { getTask } from '../tasks/index.js';

/**
 * One slot: runs chunks of any task, one batch at a time, in order, and posts the results back in one
 * message (a batch of very short chunks costs one round trip instead of one each).
 */
export interface SlotRequest {
  task: string;
  params: Record<string, unknown>;
  start: string;
  end: string;
}
export interface SlotBatch {
  id: number;
  batch: SlotRequest[];
}
export type SlotReply =
  | { ok: true; summary: Record<string, unknown>; output: Uint8Array | null; ms: number }
  | { ok: false; error: string };

const port = parentPort;
if (!port) throw new Error('slot-thread must run in a worker thread');
port.on('message', (msg: SlotBatch) => {
  const replies: SlotReply[] = [];
  const transfer: ArrayBuffer[] = [];
  for (const req of msg.batch) {
    const t0 = performance.now();
    try {
      const r = getTask(req.task).run(req.params, BigInt(req.start), BigInt(req.end));
      replies.push({ ok: true, summary: r.summary, output: r.output, ms: performance.now() - t0 });
      if (r.output) transfer.push(r.output.buffer as ArrayBuffer);
    } catch (err) {
      replies.push({ ok: false, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
    }
  }
  port.postMessage({ id: msg.id, replies }, transfer);
});
