import type { JobRecord, Ledger, ResultInput, ResultOutcome } from '../core/index.js';
import { spanBounds } from '../core/index.js';
import { getTask } from '../tasks/index.js';
import type { HeadCounters } from '../ports/index.js';
import { ErrorCode, ProtocolError } from '../protocol/index.js';

/** Where a result came from, and where its acknowledgement goes (a worker session). */
export interface ResultSink {
  /** Results received from it and not yet acknowledged: their leases are still in the ledger, but the places are free. */
  inHand: number;
  ack(tokens: string[], duplicates: number): void;
  reject(err: Error): void;
}

export interface ResultBatcherOptions {
  ledger: Ledger;
  counters: HeadCounters;
  /** A result refused by its task's check (logged as a head event). */
  warn(msg: string): void;
  nodeName(id: string): string;
  /** After each commit: the accepted results' leases are gone, places may be refilled. */
  committed(): void;
  /** The journal cannot commit: nothing more is acknowledged; the composition root decides what to do. */
  fatal(err: unknown): void;
  /** How a flush is deferred to the end of the current reads (default setImmediate). */
  defer?: (fn: () => void) => void;
}

/**
 * Group commit: results are validated by their task, committed in one journal transaction per batch
 * (off the event loop where the journal can), and only then acknowledged, one ack per sink. One commit
 * is in flight at a time; results arriving meanwhile form the next batch.
 */
export class ResultBatcher {
  private pending: { sink: ResultSink; input: ResultInput }[] = [];
  private flushScheduled = false;
  private inFlight: Promise<void> | null = null;
  private failed = false;
  private readonly defer: (fn: () => void) => void;

  constructor(private readonly o: ResultBatcherOptions) {
    this.defer = o.defer ?? ((fn) => setImmediate(fn));
  }

  /** True while a commit is in flight (or after a fatal commit error). */
  get committing(): boolean {
    return this.inFlight !== null || this.failed;
  }

  get queued(): number {
    return this.pending.length;
  }

  push(sink: ResultSink, input: ResultInput): void {
    this.o.counters.resultsIn++;
    sink.inHand++;
    this.pending.push({ sink, input });
    this.schedule();
  }

  /** Resolves when no commit is in flight (for a clean stop). */
  async settled(): Promise<void> {
    while (this.inFlight) await this.inFlight;
  }

  private schedule(): void {
    if (this.flushScheduled || this.committing) return;
    this.flushScheduled = true;
    this.defer(() => this.flush());
  }

  /** Validates, commits (one transaction for the batch) and only then acknowledges results. */
  flush(): void {
    this.flushScheduled = false;
    if (this.committing) return;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    const good: { sink: ResultSink; input: ResultInput }[] = [];
    const { ledger, counters } = this.o;
    for (const item of batch) {
      const { input, sink } = item;
      let job: JobRecord;
      try {
        job = ledger.getJob(input.jobId);
      } catch {
        sink.inHand--;
        sink.ack([input.token], 0);
        continue;
      }
      if (input.index + input.span > job.chunks) {
        counters.badMessages++;
        sink.reject(new ProtocolError(ErrorCode.BadMessage, `result for chunks ${input.index}..${input.index + input.span - 1} of job ${job.id}, which has ${job.chunks} chunks`));
        continue;
      }
      try {
        const b = spanBounds(job, input.index, input.span);
        const task = getTask(job.task);
        input.summary = task.checkSummary(input.summary, b.start, b.end);
        if (!task.hasOutput(job.params)) input.output = null;
        // a kept output is decoded and checked against its summary before it is committed (issue 17,
        // item 16): a job is never done with an output that cannot be downloaded
        // (a job whose output a flag turns on, primes --list, needs it in every result; distributed Life
        // assembles its grid elsewhere and sends summaries alone)
        else if (!input.output) {
          if (task.outputParam !== null) throw new Error(`job ${job.id} keeps its output and the result has none`);
        } else task.checkOutput(job.params, b.start, b.end, input.summary as Record<string, unknown>, input.output);
      } catch (err) {
        counters.badMessages++;
        this.o.warn(`rejected a result from ${this.o.nodeName(input.worker)} for job ${job.id} chunk ${input.index}: ${(err as Error).message}`);
        // the fault is the worker's, not the chunk's: its leases return uncounted (three liars must not
        // quarantine an honest chunk and fail the job), and it is disconnected
        ledger.releaseWorker(input.worker, 'drained');
        sink.reject(new ProtocolError(ErrorCode.BadMessage, (err as Error).message));
        continue;
      }
      good.push(item);
    }
    if (good.length === 0) return;
    this.inFlight = ledger.completeAsync(good.map((g) => g.input)).then(
      (outcomes) => {
        this.inFlight = null;
        this.acknowledge(good, outcomes);
        if (this.pending.length > 0) this.schedule();
      },
      (err: unknown) => {
        // stop rather than acknowledge what is not durable
        this.inFlight = null;
        this.failed = true;
        this.o.fatal(err);
      },
    );
  }

  private acknowledge(good: { sink: ResultSink; input: ResultInput }[], outcomes: ResultOutcome[]): void {
    const acks = new Map<ResultSink, { tokens: string[]; duplicates: number }>();
    good.forEach((g, k) => {
      let a = acks.get(g.sink);
      if (!a) acks.set(g.sink, (a = { tokens: [], duplicates: 0 }));
      a.tokens.push(g.input.token);
      if (outcomes[k] === 'duplicate' || outcomes[k] === 'rejected') a.duplicates++;
    });
    for (const [sink, a] of acks) {
      sink.inHand -= a.tokens.length;
      sink.ack(a.tokens, a.duplicates);
      this.o.counters.ackFrames++;
    }
    // a place freed by a duplicate was lent ahead and is returned here, so the sum is right again
    this.o.committed();
  }
}
