import { Worker } from 'node:worker_threads';
import type { LifeMessage } from '../protocol/index.js';
import { threadUrl } from './thread-url.js';

/**
 * The parts of distributed Life jobs this worker holds: one thread per part (its strip lives there
 * between steps), the head's `life-*` frames routed to it in order and its replies sent back.
 */
export class LifeParts {
  private readonly threads = new Map<string, Worker>();

  /** `spare`: threads started ahead (startLifeThreads), taken by the first parts loaded here. */
  constructor(
    private readonly send: (m: LifeMessage) => void,
    private readonly spare: Worker[] = [],
  ) {}

  get size(): number {
    return this.threads.size;
  }

  handle(m: LifeMessage): void {
    if (m.type === 'life-drop') {
      for (const [key, t] of this.threads) {
        if (key.startsWith(`${m.job}/`) && (m.part === undefined || key === `${m.job}/${m.part}`)) {
          void t.terminate();
          this.threads.delete(key);
        }
      }
      return;
    }
    const key = `${m.job}/${m.part}`;
    let t = this.threads.get(key);
    if (m.type === 'life-load' && !t) {
      t = this.spare.pop() ?? new Worker(threadUrl('life-part-thread'));
      t.ref();
      const thread = t;
      t.on('message', (reply: LifeMessage) => this.send(reply));
      t.on('error', (err) => {
        if (this.threads.get(key) === thread) this.threads.delete(key);
        this.send({ type: 'life-error', job: m.job, part: m.part, epoch: m.epoch, error: `life part thread failed: ${err.message}` });
      });
      this.threads.set(key, t);
    }
    t?.postMessage(m);
  }

  /** The head went away: it rebuilds every part from its last checkpoint, so nothing here is kept. */
  dropAll(): void {
    for (const t of this.threads.values()) void t.terminate();
    this.threads.clear();
    for (const t of this.spare.splice(0)) void t.terminate();
  }
}

/**
 * Threads for the parts of a Life job, started before it is loaded (`bramble run life`: while the
 * main thread reads and checks the pattern); they do not keep the process alive until a part takes them.
 */
export function startLifeThreads(n: number): Worker[] {
  return Array.from({ length: n }, () => {
    const t = new Worker(threadUrl('life-part-thread'));
    t.unref();
    return t;
  });
}
