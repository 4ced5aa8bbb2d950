import { unlinkSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { getTask } from '../tasks/index.js';

/**
 * One slot: runs chunks of any task, one batch at a time, in order, and posts the results back in one
 * message (a batch of very short chunks costs one round trip instead of one each).
 */
export interface SlotRequest {
  /** The job's id, when known: chunks of one job share task and params (see SlotBatch). */
  job?: string;
  task: string;
  params: Record<string, unknown>;
  start: string;
  end: string;
}
/**
 * A batch as posted: chunks of one job share their task and params, which are then sent (and cloned)
 * once, with the ranges as one array of decimal strings (start, end, start, end, ...).
 */
export type SlotBatch = { id: number; batch: SlotRequest[] } | { id: number; task: string; params: Record<string, unknown>; ranges: string[] };
export type SlotReply =
  | { ok: true; summary: Record<string, unknown>; output: Uint8Array | null; ms: number }
  | { ok: false; error: string };

/**
 * TEST-ONLY fault hooks (as BRAMBLE_TEST_KILL_AFTER_SUBMIT), never set otherwise:
 * BRAMBLE_TEST_SLOT_FAULT=exit-once:FILE ends the thread in the middle of a chunk while FILE exists
 * (the thread that deletes it: once per FILE); =throw:N makes every chunk that starts at N throw.
 */
const fault = /^(exit-once|throw):(.+)$/.exec(process.env['BRAMBLE_TEST_SLOT_FAULT'] ?? '');
function injectFault(start: string): void {
  if (fault?.[1] === 'throw' && fault[2] === start) throw new Error(`test fault: the chunk starting at ${start} throws`);
  if (fault?.[1] === 'exit-once') {
    try {
      unlinkSync(fault[2] as string);
    } catch {
      return;
    }
    process.exit(3); // in a worker thread: ends this thread only
  }
}

const port = parentPort;
if (!port) throw new Error('slot-thread must run in a worker thread');
function requests(msg: SlotBatch): SlotRequest[] {
  if ('batch' in msg) return msg.batch;
  const out: SlotRequest[] = [];
  for (let k = 0; k + 1 < msg.ranges.length; k += 2) out.push({ task: msg.task, params: msg.params, start: msg.ranges[k] as string, end: msg.ranges[k + 1] as string });
  return out;
}

port.on('message', (msg: SlotBatch) => {
  const replies: SlotReply[] = [];
  const transfer: ArrayBuffer[] = [];
  for (const req of requests(msg)) {
    const t0 = performance.now();
    try {
      if (fault) injectFault(req.start);
      const r = getTask(req.task).run(req.params, BigInt(req.start), BigInt(req.end));
      replies.push({ ok: true, summary: r.summary, output: r.output, ms: performance.now() - t0 });
      if (r.output) transfer.push(r.output.buffer as ArrayBuffer);
    } catch (err) {
      replies.push({ ok: false, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
    }
  }
  port.postMessage({ id: msg.id, replies }, transfer);
});
