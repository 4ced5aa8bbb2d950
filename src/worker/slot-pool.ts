import { Worker } from 'node:worker_threads';
import type { SlotBatch, SlotReply, SlotRequest } from './slot-thread.js';
import { threadUrl } from './thread-url.js';

interface Slot {
  /** Started at the pool's start, or at the slot's first batch for a lazy pool. */
  thread: Worker | null;
  job: { id: number; size: number; resolve: (r: SlotReply[]) => void } | null;
}

/**
 * One worker thread per slot. A chunk that throws, or kills its thread, resolves as an error for
 * that chunk and the slot is replaced: the worker keeps serving. A lazy pool starts a slot's thread at
 * its first batch (`bramble run life`: its strips have threads of their own, the slots are never used).
 */
export class SlotPool {
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private closed = false;

  constructor(
    readonly size: number,
    options: { lazy?: boolean } = {},
  ) {
    for (let i = 0; i < size; i++) this.slots.push(options.lazy ? { thread: null, job: null } : this.spawn());
  }

  private spawn(): Slot {
    const slot: Slot = { thread: null, job: null };
    this.start(slot);
    return slot;
  }

  private start(slot: Slot): Worker {
    const thread = new Worker(threadUrl('slot-thread'));
    slot.thread = thread;
    thread.on('message', (m: { id: number; replies: SlotReply[] }) => {
      const job = slot.job;
      if (job && job.id === m.id) {
        slot.job = null;
        job.resolve(m.replies);
      }
    });
    const died = (why: string): void => {
      const job = slot.job;
      slot.job = null;
      if (job) job.resolve(Array.from({ length: job.size }, () => ({ ok: false as const, error: why })));
      if (this.closed) return;
      const k = this.slots.indexOf(slot);
      if (k >= 0) this.slots[k] = this.spawn();
    };
    thread.on('error', (err) => died(`slot thread failed: ${err.message}`));
    thread.on('exit', (code) => died(`slot thread exited with code ${code}`));
    return thread;
  }

  get free(): number {
    return this.slots.filter((s) => s.job === null).length;
  }

  /** Runs chunks in order on one free slot. Returns the run id (for cancel) and their replies. */
  run(batch: SlotRequest[]): { id: number; done: Promise<SlotReply[]> } {
    const slot = this.slots.find((s) => s.job === null);
    if (!slot) throw new Error('no free slot');
    const id = this.nextId++;
    const done = new Promise<SlotReply[]>((resolve) => {
      slot.job = { id, size: batch.length, resolve };
    });
    const thread = slot.thread ?? this.start(slot);
    const first = batch[0];
    // one job's chunks (the usual batch of tiny chunks): its task and params cloned once, not per chunk
    if (first && batch.length > 1 && batch.every((r) => r.task === first.task && (r.params === first.params || (r.job !== undefined && r.job === first.job)))) {
      const ranges: string[] = [];
      for (const r of batch) ranges.push(r.start, r.end);
      thread.postMessage({ id, task: first.task, params: first.params, ranges } satisfies SlotBatch);
    } else thread.postMessage({ id, batch } satisfies SlotBatch);
    return { id, done };
  }

  /** Stops a running chunk by replacing its thread. */
  cancel(id: number): void {
    const slot = this.slots.find((s) => s.job?.id === id);
    if (!slot) return;
    const job = slot.job;
    slot.job = null;
    job?.resolve(Array.from({ length: job.size }, () => ({ ok: false as const, error: 'cancelled' })));
    slot.thread?.removeAllListeners('exit');
    slot.thread?.removeAllListeners('error');
    void slot.thread?.terminate();
    const k = this.slots.indexOf(slot);
    if (k >= 0) this.slots[k] = this.spawn();
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.thread?.terminate()));
  }
}
