import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { Clock, JobRecord, Journal, Ledger, LedgerEvent, Submitted } from '../core/index.js';
import { ConflictError, InputError, TERMINAL_STATES, spanBounds } from '../core/index.js';
import type { AdmitLimits, JobInput, Live, Task } from '../tasks/index.js';
import { admitLimits, bytesText, getTask, planJob } from '../tasks/index.js';
import type { JobStatus } from '../ports/index.js';
import type { HeadEvents } from './head-events.js';

interface JobLive {
  live: Live;
  samples: { t: number; done: number }[];
}

export interface JobReportsOptions {
  clock: Clock;
  ledger: Ledger;
  journal: Journal;
  events: HeadEvents;
  /** Slots to size a new job's chunks for (0: none connected). */
  slots: () => number;
  /** How long a finished job's running totals are kept (ms). */
  keepFinishedMs?: number;
  /** What a new job is sized against (issue 17, item 7): frames, the connected workers. */
  limits?: () => AdmitLimits;
  /** Bytes free in the data dir (statfs), or null when unknown: a job that would store more is refused. */
  diskFree?: () => number | null;
}

/** Bytes a result row takes in the journal besides its output (keys, summary, index), on the high side. */
export const ROW_BYTES = 160;

/** Disk the head keeps free for its journal, logs and the jobs already running. */
export const DISK_RESERVE_BYTES = 256 * 1024 * 1024;

/**
 * Jobs as the API sees them: submit, status with rate and ETA, running totals (live), the folded
 * result, the chunk map, and the full output streamed in chunk order from the journal.
 */
export class JobReports {
  private readonly jobLive = new Map<string, JobLive>();

  constructor(private readonly o: JobReportsOptions) {
    for (const job of o.ledger.activeJobs()) this.rebuildLive(job);
  }

  /**
   * Submits a job. With an `id`, idempotently: a job already under that id with an equal request is
   * answered (`existing: true`, whatever its state), one with another request is an IdConflictError
   * naming the first difference. Without one, the head picks a free id.
   */
  submit(input: JobInput, id?: string): Submitted & { note?: string } {
    if (id !== undefined && !/^[a-z0-9][a-z0-9-]{0,63}$/.test(id)) throw new InputError('id', `id must be lower-case letters, digits and dashes (got ${JSON.stringify(id)})`);
    const { storedBytes, storedBy, note, ...plan } = planJob(input, this.o.slots() || 4, this.o.limits?.() ?? admitLimits());
    // admission (issue 17, item 7): what the job will store must fit the data dir's free space
    const free = this.o.diskFree?.() ?? null;
    if (free !== null) {
      const need = (storedBytes ?? 0) + plan.chunks * ROW_BYTES;
      const room = free - DISK_RESERVE_BYTES;
      if (need > room) {
        throw new InputError(storedBy ?? '--end', `the job would store about ${bytesText(need)} at the head (${plan.chunks} result row(s)${storedBytes ? ` and ${bytesText(storedBytes)} of output` : ''}); its data dir has ${bytesText(Math.max(0, free))} free, of which ${bytesText(DISK_RESERVE_BYTES)} stay spare: narrow ${storedBy ?? '--end'} or free disk space`);
      }
    }
    let jobId = id ?? randomBytes(4).toString('hex');
    while (id === undefined && this.o.journal.getJob(jobId)) jobId = randomBytes(4).toString('hex');
    const submitted = this.o.ledger.submit({ id: jobId, ...plan });
    const job = submitted.job;
    if (submitted.existing) {
      this.o.events.event('info', 'job', `job ${job.id} submitted again with the same settings: answered with the job (${job.state})`, { job: job.id });
      return submitted;
    }
    this.jobLive.set(job.id, { live: getTask(job.task).live(), samples: [] });
    this.o.events.event('info', 'job', `job ${job.id} submitted: ${job.task} [${job.start}, ${job.end}] in ${job.chunks} chunk(s) of ${job.chunk}${note ? ` (${note})` : ''}`, { job: job.id });
    this.o.events.changed('jobs', job.id);
    return note ? { ...submitted, note } : submitted;
  }

  /** Keeps the running totals and the final summary up to date (the ledger's job and chunk events). */
  onLedger(e: LedgerEvent): void {
    if (e.type === 'job-state') {
      const j = e.job;
      if (j.state === 'done' || j.state === 'failed') this.finalSummary(j.id);
      if (TERMINAL_STATES.has(j.state)) setTimeout(() => this.jobLive.delete(j.id), this.o.keepFinishedMs ?? 60_000).unref();
    } else if (e.type === 'chunk-done') {
      this.liveOf(e.jobId)?.live.add(e.summary as Record<string, unknown>);
    } else if (e.type === 'recheck') {
      // rows were taken back: the running totals start again from what the journal holds
      try {
        this.rebuildLive(this.o.ledger.getJob(e.jobId));
      } catch {
        /* gone */
      }
    }
  }

  /** Running totals of an unfinished job (rebuilt from the journal after a restart); none for finished jobs. */
  private liveOf(id: string): JobLive | undefined {
    let jl = this.jobLive.get(id);
    if (!jl) {
      let job: JobRecord;
      try {
        job = this.o.ledger.getJob(id);
      } catch {
        return undefined;
      }
      if (TERMINAL_STATES.has(job.state)) return undefined;
      jl = this.rebuildLive(job);
    }
    return jl;
  }

  private rebuildLive(job: JobRecord): JobLive {
    const jl: JobLive = { live: getTask(job.task).live(), samples: [] };
    for (const r of this.o.journal.results(job.id)) jl.live.add(r.summary as Record<string, unknown>);
    this.jobLive.set(job.id, jl);
    return jl;
  }

  status(id: string): JobStatus {
    const { ledger, clock } = this.o;
    const job = ledger.getJob(id);
    const counts = ledger.counts(id);
    const jl = this.liveOf(id);
    const now = clock.now();
    let rate: number | null = null;
    let eta: number | null = null;
    if (jl) {
      const s = jl.samples;
      if (s.length === 0 || now - (s[s.length - 1] as { t: number }).t >= 250) s.push({ t: now, done: counts.done });
      while (s.length > 2 && now - (s[0] as { t: number }).t > 30_000) s.shift();
      const first = s[0] as { t: number; done: number };
      const dt = (now - first.t) / 1000;
      if (dt > 0.5 && job.state === 'running') {
        rate = (counts.done - first.done) / dt;
        eta = rate > 0 ? (counts.total - counts.done - counts.failed) / rate : null;
      } else if (job.state === 'running' && job.startedAt !== null && now > job.startedAt) {
        rate = counts.done / ((now - job.startedAt) / 1000);
        eta = rate > 0 ? (counts.total - counts.done - counts.failed) / rate : null;
      }
    }
    return {
      id: job.id,
      task: job.task,
      state: job.state,
      params: job.params,
      start: job.start.toString(),
      end: job.end.toString(),
      chunk: job.chunk.toString(),
      priority: job.priority,
      createdAt: job.createdAt,
      startedAt: job.startedAt,
      finishedAt: job.finishedAt,
      error: job.error,
      chunks: counts,
      progress: counts.total === 0 ? 1 : (counts.done + counts.failed) / counts.total,
      rate,
      etaSeconds: eta,
      live: jl?.live.snapshot() ?? this.finishedLive(job),
      failedChunks: ledger.quarantinedChunks(id).slice(0, 100),
    };
  }

  /** For a finished job the live panel shows its final summary (done/failed), or nothing (cancelled). */
  private finishedLive(job: JobRecord): Record<string, unknown> {
    if (job.state !== 'done' && job.state !== 'failed') return {};
    return (this.o.journal.getJobSummary(job.id) as Record<string, unknown> | undefined) ?? this.finalSummary(job.id);
  }

  /** The folded result of a finished job (summary fields as decimal strings). */
  result(id: string): Record<string, unknown> {
    const job = this.o.ledger.getJob(id);
    if (job.state !== 'done' && job.state !== 'failed') throw new ConflictError(`job ${id} is ${job.state}; its result is ready when it is done`);
    const summary = (this.o.journal.getJobSummary(id) as Record<string, unknown> | undefined) ?? this.finalSummary(id);
    const seconds = job.startedAt !== null && job.finishedAt !== null ? (job.finishedAt - job.startedAt) / 1000 : null;
    return {
      id: job.id,
      task: job.task,
      state: job.state,
      start: job.start.toString(),
      end: job.end.toString(),
      ...summary,
      seconds,
      failedChunks: this.o.ledger.quarantinedChunks(id).map((q) => q.index),
    };
  }

  /** Folds a job's results in chunk order, streaming journal rows, and stores the summary. */
  private finalSummary(id: string): Record<string, unknown> {
    const job = this.o.ledger.getJob(id);
    const folder = getTask(job.task).folder();
    for (const r of this.o.journal.results(id)) {
      const b = spanBounds(job, r.index, r.span);
      folder.add(r.index, b.start, b.end, r.summary as Record<string, unknown>);
    }
    const summary = folder.result();
    this.o.journal.setJobSummary(id, summary);
    return summary;
  }

  /** Checks that a job keeps a full output and has finished (errors before any byte is sent). */
  checkOutput(id: string): { job: JobRecord; task: Task } {
    const job = this.o.ledger.getJob(id);
    const task: Task = getTask(job.task);
    if (!task.hasOutput(job.params) || !task.outputText) {
      throw new ConflictError(`job ${id} keeps no full output (for primes, submit with --list)`);
    }
    if (job.state !== 'done' && job.state !== 'failed') throw new ConflictError(`job ${id} is ${job.state}; its output is ready when it is done`);
    return { job, task };
  }

  /** Streams a finished job's full output (every prime, the final grid) in chunk order, with backpressure. */
  async writeOutput(id: string, out: Writable): Promise<void> {
    const { job, task } = this.checkOutput(id);
    if (!task.outputText) return;
    for (const r of this.o.journal.results(id, { withOutput: true })) {
      if (!r.output) continue;
      for (const piece of task.outputText(job.params, spanBounds(job, r.index, r.span).start, r.output)) {
        if (!out.write(piece)) await once(out, 'drain');
      }
    }
  }

  /** Chunk states for the chunk map, aggregated into at most `cells` cells. */
  chunkMap(id: string, cells = 4096): { total: number; cells: number[][] } {
    return this.o.ledger.chunkCells(id, cells);
  }

  jobs(): JobStatus[] {
    return this.o.ledger.listJobs().map((j) => this.status(j.id));
  }
}
