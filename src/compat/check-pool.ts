import { Worker } from 'node:worker_threads';
import type { ChunkOutput, Summary } from '../tasks/index.js';
import type { CheckReply } from './check-thread.js';
import { TokenBuckets } from './token-bucket.js';

// the compiled thread module (tests that run the TypeScript sources use the build in dist/)
const THREAD_URL = import.meta.url.endsWith('.ts') ? new URL('../../dist/compat/check-thread.js', import.meta.url) : new URL('./check-thread.js', import.meta.url);

export interface CheckPoolOptions {
  /** Threads that sieve at once: the total budget, in cores (default 1). */
  threads: number;
  /** Check time a source address may use per minute, in ms (its bucket holds as much; default 20,000). */
  budgetMsPerMinute: number;
  /** A check running longer than this ends its thread and fails (default 120 s). */
  timeoutMs: number;
  now: () => number;
}

export interface CheckPoolStats {
  threads: number;
  budgetMsPerMinute: number;
  /** Checks finished. */
  checks: number;
  running: number;
  /** Checks waiting now (for a thread, or for their source's budget). */
  queued: number;
  /** Checks that had to wait for their source's budget (back-pressure). */
  deferred: number;
  /** Milliseconds of check time spent, in all. */
  cpuMs: number;
  /** The longest a check waited before it ran (ms). */
  maxWaitMs: number;
  failed: number;
}

interface Pending {
  id: number;
  source: string;
  start: bigint;
  end: bigint;
  queuedAt: number;
  deferred: boolean;
  resolve: (r: ChunkOutput) => void;
  reject: (err: Error) => void;
}

interface Thread {
  worker: Worker;
  job: Pending | null;
  timer: NodeJS.Timeout | null;
}

/**
 * Seed 000 answer checks off the event loop (issue 17, item 19). A check is the sieve of the chunk a
 * client answered (up to --compat-max-chunk numbers; 1e7 near 2^64 takes about a second), run on one
 * of `threads` worker threads. Each source address has a budget of check time (a token bucket of
 * `budgetMsPerMinute` ms, refilled at that rate); a check is started only while its source's level is
 * not negative, and its measured time is then spent. Waiting checks are started fullest budget first,
 * so one address answering fast cannot starve the others. A check that waits keeps its client's
 * socket paused (back-pressure): the client's lease still ends at --compat-timeout-ms.
 */
export class CheckPool {
  private readonly threads: Thread[] = [];
  private readonly queue: Pending[] = [];
  private readonly budget: TokenBuckets;
  private nextId = 1;
  private wake: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly s = { checks: 0, deferred: 0, cpuMs: 0, maxWaitMs: 0, failed: 0 };

  constructor(private readonly o: CheckPoolOptions) {
    this.budget = new TokenBuckets(o.budgetMsPerMinute / 60, o.budgetMsPerMinute, o.now);
  }

  /** The chunk's exact primes (summary and compact list), as a native worker computes them. */
  check(source: string, start: bigint, end: bigint): { done: Promise<ChunkOutput>; cancel: () => void } {
    const id = this.nextId++;
    let p!: Pending;
    const done = new Promise<ChunkOutput>((resolve, reject) => {
      p = { id, source, start, end, queuedAt: this.o.now(), deferred: false, resolve, reject };
    });
    if (this.closed) p.reject(new Error('the head is stopping'));
    else {
      this.queue.push(p);
      this.pump();
    }
    return {
      done,
      cancel: () => {
        const k = this.queue.indexOf(p);
        if (k >= 0) this.queue.splice(k, 1);
        // a running check finishes (its result is dropped): its time is spent either way
      },
    };
  }

  stats(): CheckPoolStats {
    return {
      threads: this.o.threads,
      budgetMsPerMinute: this.o.budgetMsPerMinute,
      checks: this.s.checks,
      running: this.threads.filter((t) => t.job !== null).length,
      queued: this.queue.length,
      deferred: this.s.deferred,
      cpuMs: Math.round(this.s.cpuMs),
      maxWaitMs: Math.round(this.s.maxWaitMs),
      failed: this.s.failed,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.wake) clearTimeout(this.wake);
    for (const p of this.queue.splice(0)) p.reject(new Error('the head is stopping'));
    const threads = this.threads.splice(0);
    for (const t of threads) {
      if (t.timer) clearTimeout(t.timer);
      t.job?.reject(new Error('the head is stopping'));
      t.job = null;
    }
    await Promise.all(threads.map((t) => t.worker.terminate()));
  }

  private spawn(): Thread {
    const t: Thread = { worker: new Worker(THREAD_URL), job: null, timer: null };
    t.worker.unref();
    t.worker.on('message', (m: CheckReply) => {
      const job = t.job;
      if (!job || job.id !== m.id) return;
      this.finish(t, m.ms);
      if (m.ok) job.resolve({ summary: m.summary as Summary, output: m.output });
      else {
        this.s.failed++;
        job.reject(new Error(m.error));
      }
      this.pump();
    });
    const died = (why: string): void => {
      const k = this.threads.indexOf(t);
      if (k < 0) return; // replaced already (timeout) or closing
      this.threads.splice(k, 1);
      const job = t.job;
      if (job) {
        this.finish(t, this.o.now() - job.queuedAt);
        this.s.failed++;
        job.reject(new Error(why));
      }
      this.pump();
    };
    t.worker.on('error', (err) => died(`the check thread failed: ${err.message}`));
    t.worker.on('exit', (code) => died(`the check thread exited with code ${code}`));
    this.threads.push(t);
    return t;
  }

  private finish(t: Thread, ms: number): void {
    const job = t.job;
    if (t.timer) clearTimeout(t.timer);
    t.timer = null;
    t.job = null;
    if (!job) return;
    this.s.checks++;
    this.s.cpuMs += ms;
    this.budget.spend(job.source, ms);
  }

  /** Starts waiting checks on free threads, fullest budget first; sleeps until a budget refills. */
  private pump(): void {
    if (this.closed) return;
    while (this.queue.length > 0) {
      let t = this.threads.find((x) => x.job === null);
      if (!t) {
        if (this.threads.length >= this.o.threads) return;
        t = this.spawn();
      }
      let best = -1;
      let bestLevel = -Infinity;
      let soonest = Infinity;
      for (let i = 0; i < this.queue.length; i++) {
        const p = this.queue[i] as Pending;
        const level = this.budget.level(p.source);
        if (level >= 0 && level > bestLevel) {
          best = i;
          bestLevel = level;
        }
        if (level < 0) {
          if (!p.deferred) {
            p.deferred = true;
            this.s.deferred++;
          }
          soonest = Math.min(soonest, this.budget.waitFor(p.source, 0));
        }
      }
      if (best < 0) {
        if (soonest < Infinity) {
          if (this.wake) clearTimeout(this.wake);
          this.wake = setTimeout(() => {
            this.wake = null;
            this.pump();
          }, soonest);
          this.wake.unref();
        }
        return;
      }
      const [p] = this.queue.splice(best, 1) as [Pending];
      this.s.maxWaitMs = Math.max(this.s.maxWaitMs, this.o.now() - p.queuedAt);
      this.start(t, p);
    }
  }

  private start(t: Thread, p: Pending): void {
    t.job = p;
    const began = this.o.now();
    t.timer = setTimeout(() => {
      // a check past its time: the thread is ended (a sieve cannot be interrupted) and replaced
      const k = this.threads.indexOf(t);
      if (k >= 0) this.threads.splice(k, 1);
      this.finish(t, this.o.now() - began);
      this.s.failed++;
      p.reject(new Error(`the check took longer than ${Math.round(this.o.timeoutMs / 1000)} s`));
      void t.worker.terminate();
      this.pump();
    }, this.o.timeoutMs);
    t.timer.unref();
    t.worker.postMessage({ id: p.id, start: String(p.start), end: String(p.end) });
  }
}
