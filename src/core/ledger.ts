import type { Clock } from './clock.js';
import { ConflictError, InputError, NotFoundError } from './errors.js';
import type { ChunkCounts, JobRecord, JobState, Lease } from './job.js';
import { TERMINAL_STATES } from './job.js';
import type { ChunkResultRecord, Journal } from './journal.js';
import { spanBounds } from './range.js';
import { IdConflictError, requestDifference } from './job-request.js';

/** What a submit made: a new job, or the job already there under that id with an equal request. */
export interface Submitted {
  job: JobRecord;
  existing: boolean;
}

/**
 * Issues and checks lease tokens; the head signs them with its secret so they survive its restart.
 * `signRun` signs `count` leases at once: spans of `span` chunks starting at `first`, `first + span`,
 * ... (all the same attempt); each token is unique and checks alone, but the run costs one MAC.
 */
export interface LeaseSigner {
  signRun(jobId: string, first: number, span: number, attempt: number, count: number): string[];
  verify(token: string, jobId: string, index: number, span: number): boolean;
}

export interface LedgerOptions {
  clock: Clock;
  journal: Journal;
  signer: LeaseSigner;
  /** How long a lease lives without a heartbeat. */
  leaseMs?: number;
  /** Speculative backup copies at a job's tail (on by default). */
  speculate?: boolean;
  /** A lease is a straggler when it has run this many times the job's median chunk time. */
  speculateFactor?: number;
  /** Largest span (chunks per lease) for jobs sized by time. */
  maxSpan?: number;
  /** Draws which chunks `--verify` re-runs (default Math.random: a worker cannot predict it). */
  random?: () => number;
}

/**
 * Hoarding bounds (issue 17, item 18). A worker holds at most about HOLD_MS of work per slot of a job of
 * fixed chunks, from its own measured speed (before its first result, FIRST_HOLD or 4 per slot,
 * whichever is more: a window meant for tiny chunks still fills at once). A lease that has run longer
 * than OVERDUE_MIN_MS plus OVERDUE_FACTOR times its holder's own expected time gets a backup copy at any
 * point of the job: expected = ms per chunk (the holder's measured speed, else the job's median) x span
 * x the holder's queue (its leases of the job per slot, counted up to QUEUE_CREDIT: a worker sitting on
 * more than that gets no credit for them).
 */
export const HOLD_MS = 2000;
export const FIRST_HOLD = 64;
export const OVERDUE_FACTOR = 4;
export const OVERDUE_MIN_MS = 500;
export const QUEUE_CREDIT = 4;
/** How often a job's leases are scanned for overdue ones (ms). */
const OVERDUE_SCAN_MS = 250;

export interface Assignment {
  token: string;
  jobId: string;
  index: number;
  span: number;
  attempt: number;
  task: string;
  params: Record<string, unknown>;
  start: bigint;
  end: bigint;
  backup: boolean;
}

export interface ResultInput {
  token: string;
  jobId: string;
  index: number;
  span: number;
  worker: string;
  /** Compute time the worker reports, for sizing its next spans. */
  ms?: number;
  summary: unknown;
  output: Uint8Array | null;
}

/**
 * What happened to a result:
 * - `accepted`: stored; the chunk is done
 * - `duplicate`: the chunk was already done (late, replayed or a losing backup copy); dropped and counted
 * - `rejected`: the token was not issued for that chunk, or the job is gone or cancelled
 * - `voted`: held in memory as one copy of a replicated chunk until another worker's copy agrees
 */
export type ResultOutcome = 'accepted' | 'duplicate' | 'rejected' | 'voted';

export type LedgerEvent =
  | { type: 'job-state'; job: JobRecord; from: JobState }
  | { type: 'lease-expired'; lease: Lease }
  | { type: 'chunk-failed'; jobId: string; index: number; worker: string; error: string; attempts: number }
  | { type: 'chunk-quarantined'; jobId: string; index: number; error: string }
  /** Leases a worker should stop (cancelled job, chunk finished by another copy). */
  | { type: 'revoke'; worker: string; tokens: string[] }
  | { type: 'chunk-done'; jobId: string; index: number; worker: string; summary: unknown }
  /** Copies of a replicated chunk disagreed: `worker` is outvoted by `majority` (a strike). */
  | { type: 'disagreement'; jobId: string; index: number; worker: string; majority: string[]; strikes: number }
  /** Results a caught worker had committed in a job were taken back, to run again on other workers. */
  | { type: 'recheck'; jobId: string; worker: string; chunks: number };

/** Set bits per byte value. */
const POPCOUNT = Uint8Array.from({ length: 256 }, (_, b) => {
  let n = 0;
  for (let x = b; x; x >>= 1) n += x & 1;
  return n;
});

/** Strikes (results outvoted by other workers) after which a worker gets no work until cleared. */
export const MAX_STRIKES = 3;

/** One worker's copy of a replicated chunk, held until enough copies agree. */
interface Vote {
  worker: string;
  /** Summary and output as compared: equal keys mean equal results. */
  key: string;
  input: ResultInput;
}

function voteKey(r: ResultInput): string {
  const o = r.output ? Buffer.from(r.output.buffer, r.output.byteOffset, r.output.byteLength).toString('base64') : '';
  return `${JSON.stringify(r.summary, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}|${r.span}|${o}`;
}

interface Prepared {
  outcomes: ResultOutcome[];
  rows: ChunkResultRecord[];
  /** `agreed`: committed because copies from two workers agreed (else one copy was taken on trust). */
  pending: { k: number; book: JobBook; r: ResultInput; agreed: boolean }[];
}

interface Failures {
  attempts: number;
  workers: Set<string>;
  lastError: string;
}

/** A span chosen for a lease, before it is signed and issued. */
interface Pick {
  i: number;
  span: number;
  attempt: number;
}

/** In-memory view of one unfinished job; durable state is in the journal. */
class JobBook {
  readonly done: Uint8Array;
  doneCount = 0;
  cursor = 0;
  /** Spans returned to the queue: retried whole. */
  readonly retry: { i: number; span: number }[] = [];
  /** Active leases by the first chunk of their span. */
  readonly leases = new Map<number, Lease[]>();
  /** Active leases per worker. */
  readonly held = new Map<string, number>();
  readonly failures = new Map<number, Failures>();
  readonly quarantined = new Map<number, { error: string; span: number }>();
  quarantinedCount = 0;
  /** Chunks covered by a quarantined span (bitmap), so fresh spans stop at them. */
  readonly failedBits: Uint8Array;
  /** Per worker: measured ms per chunk and the last span given, for jobs sized by time. */
  readonly msPerChunk = new Map<string, number>();
  readonly lastSpan = new Map<string, number>();
  /** Recent chunk run times (ms), for speculation. */
  readonly durations: number[] = [];
  /** Copies of replicated chunks waiting for agreement (memory only: after a restart they run again). */
  readonly votes = new Map<number, Vote[]>();
  /** Workers whose committed results in this job were taken back already (their later ones are all compared). */
  readonly rechecked = new Set<string>();
  /** How many agreeing copies chunk i needs, decided when its first copy arrives. */
  readonly need = new Map<number, number>();
  /** Whether a worker already gave a copy of chunk i (it may not give another). */
  voted(i: number, worker: string): boolean {
    return this.votes.get(i)?.some((v) => v.worker === worker) === true;
  }
  /** Overdue leases found by the last scan (issue 17, item 18), and when it ran. */
  overdue: Lease[] = [];
  overdueScanAt = -Infinity;
  nextAttempt = new Map<number, number>();
  /** The attempt number of the next lease of span `i`, counted. */
  takeAttempt(i: number): number {
    const attempt = this.nextAttempt.get(i) ?? 1;
    this.nextAttempt.set(i, attempt + 1);
    return attempt;
  }
  /** Chunks whose result is being committed: done for every decision but the bitmap. */
  readonly inflight = new Set<number>();
  constructor(public job: JobRecord) {
    this.done = new Uint8Array(Math.ceil(job.chunks / 8));
    this.failedBits = new Uint8Array(Math.ceil(job.chunks / 8));
  }
  isFailed(i: number): boolean {
    return ((this.failedBits[i >> 3] ?? 0) & (1 << (i & 7))) !== 0;
  }
  markFailed(i: number, span: number, error: string): void {
    this.quarantined.set(i, { error, span });
    for (let j = i; j < i + span; j++) {
      if (this.isFailed(j)) continue;
      this.failedBits[j >> 3] = (this.failedBits[j >> 3] ?? 0) | (1 << (j & 7));
      this.quarantinedCount++;
    }
  }
  unmarkFailed(i: number): void {
    const q = this.quarantined.get(i);
    if (!q) return;
    this.quarantined.delete(i);
    for (let j = i; j < i + q.span; j++) {
      if (!this.isFailed(j)) continue;
      this.failedBits[j >> 3] = (this.failedBits[j >> 3] ?? 0) & ~(1 << (j & 7));
      this.quarantinedCount--;
    }
  }
  isDone(i: number): boolean {
    return ((this.done[i >> 3] ?? 0) & (1 << (i & 7))) !== 0;
  }
  settled(i: number): boolean {
    return this.isDone(i) || this.inflight.has(i);
  }
  /** A done span taken back (its row was removed to run again). */
  unmarkDone(i: number, span = 1): void {
    for (let j = i; j < i + span; j++) {
      if (!this.isDone(j)) continue;
      this.done[j >> 3] = (this.done[j >> 3] ?? 0) & ~(1 << (j & 7));
      this.doneCount--;
    }
  }
  markDone(i: number, span = 1): void {
    for (let j = i; j < i + span; j++) {
      if (this.isDone(j)) continue;
      this.done[j >> 3] = (this.done[j >> 3] ?? 0) | (1 << (j & 7));
      this.doneCount++;
    }
  }
  /** A chunk is free when nothing covers it: not done, not being committed, not quarantined. */
  free(i: number): boolean {
    return !this.settled(i) && !this.isFailed(i);
  }
  /** Free and not leased: a span may start here. */
  open(i: number): boolean {
    return this.free(i) && !this.leases.has(i);
  }
  /** Counts a failed attempt of span `i` on `worker`. */
  noteFailure(i: number, worker: string, error: string): Failures {
    const f = this.failures.get(i) ?? { attempts: 0, workers: new Set<string>(), lastError: '' };
    f.attempts++;
    f.workers.add(worker);
    f.lastError = error;
    this.failures.set(i, f);
    return f;
  }
  finished(): boolean {
    return this.doneCount + this.quarantinedCount >= this.job.chunks;
  }
  /** Enough lease times for a median (cheap: hasWork asks on every result). */
  hasMedian(): boolean {
    return this.durations.length >= 3;
  }
  medianDuration(): number | null {
    if (!this.hasMedian()) return null;
    const s = [...this.durations].sort((a, b) => a - b);
    return s[s.length >> 1] ?? null;
  }
}

/**
 * The chunk ledger: leases with tokens and deadlines, heartbeats, expiry, results accepted once,
 * retries and quarantine, cancel, speculation. Pure logic over a Journal and a Clock: no I/O, no timers.
 */
export class Ledger {
  private readonly clock: Clock;
  private readonly journal: Journal;
  private readonly signer: LeaseSigner;
  readonly leaseMs: number;
  private readonly speculate: boolean;
  private readonly speculateFactor: number;
  private readonly maxSpan: number;
  private readonly books = new Map<string, JobBook>();
  private readonly byToken = new Map<string, Lease>();
  private readonly byWorker = new Map<string, Set<string>>();
  private readonly slots = new Map<string, number>();
  /**
   * Workers that let a lease expire without a heartbeat (stopped, frozen, cut off but still connected):
   * they get no new chunks until they are heard from again, so a frozen worker does not take the same
   * chunk again and again until it is quarantined.
   */
  private readonly silent = new Set<string>();
  private slotTotal = 0;
  private readonly listeners: ((e: LedgerEvent) => void)[] = [];
  private seq = 0;
  /** Counters for metrics. */
  readonly stats = { duplicates: 0, rejected: 0, expired: 0, accepted: 0, backups: 0, overdueBackups: 0, votes: 0, verified: 0, disagreements: 0, rechecked: 0 };
  /** Results outvoted per worker (issue 17, item 17); at MAX_STRIKES it gets no work until cleared. */
  private readonly strikes = new Map<string, number>();
  /** Head-side helpers (see registerWorker). */
  private readonly helpers = new Set<string>();
  /** Workers caught disagreeing: every later result of theirs is compared with another worker's. */
  private readonly suspects = new Set<string>();
  private readonly random: () => number;
  private readonly cellCache = new Map<string, { cells: number; map: { total: number; cells: number[][] } }>();

  constructor(options: LedgerOptions) {
    this.clock = options.clock;
    this.journal = options.journal;
    this.signer = options.signer;
    this.leaseMs = options.leaseMs ?? 30_000;
    this.speculate = options.speculate ?? true;
    this.speculateFactor = options.speculateFactor ?? 2;
    this.maxSpan = options.maxSpan ?? 1 << 16;
    this.random = options.random ?? Math.random;
    // strikes and suspicion survive a restart: a liar stays benched until an admin clears it
    for (const w of this.journal.workerStandings()) {
      if (w.strikes > 0) this.strikes.set(w.worker, w.strikes);
      if (w.suspect) this.suspects.add(w.worker);
    }
    this.recover();
  }

  on(listener: (e: LedgerEvent) => void): void {
    this.listeners.push(listener);
  }

  private emit(e: LedgerEvent): void {
    for (const l of this.listeners) l(e);
  }

  /** Rebuilds every unfinished job from the journal (after a head restart). */
  private recover(): void {
    for (const job of this.journal.listJobs()) {
      this.seq = Math.max(this.seq, job.seq);
      if (TERMINAL_STATES.has(job.state)) continue;
      const book = new JobBook(job);
      for (const [i, span] of this.journal.doneSpans(job.id)) book.markDone(i, span);
      for (const q of this.journal.quarantined(job.id)) book.markFailed(q.index, q.span, q.error);
      for (const f of this.journal.failures(job.id)) {
        book.noteFailure(f.index, f.worker, f.error);
        book.nextAttempt.set(f.index, Math.max(book.nextAttempt.get(f.index) ?? 1, f.attempt + 1));
      }
      this.books.set(job.id, book);
      if (book.finished()) this.finish(book);
    }
  }

  // ---- jobs ----

  /**
   * Creates a job, or finds the one already journaled under its id (idempotent submit): with an equal
   * request that job is returned (`existing: true`, whatever its state), with another request the
   * submit is refused with IdConflictError naming the first difference. The journal decides which
   * submit created the job (`createJob` writes only when the id is free), so two heads racing on one
   * id make one job.
   */
  submit(input: Omit<JobRecord, 'seq' | 'state' | 'createdAt' | 'startedAt' | 'finishedAt' | 'error'>): Submitted {
    if (!Number.isInteger(input.maxAttempts) || input.maxAttempts < 1) {
      throw new InputError('maxAttempts', `maxAttempts must be a positive integer (got ${input.maxAttempts})`);
    }
    const job: JobRecord = {
      ...input,
      seq: ++this.seq,
      state: 'queued',
      createdAt: this.clock.now(),
      startedAt: null,
      finishedAt: null,
      error: null,
    };
    const found = this.journal.createJob(job);
    if (found) {
      this.seq--;
      if (!found.request || !job.request) throw new IdConflictError(`job ${job.id} exists, and its settings were not recorded (it predates idempotent submits): a new job needs a new id`, 'id');
      const diff = requestDifference(found.request, job.request);
      if (diff) throw new IdConflictError(`job ${job.id} exists with other settings: ${diff.message} (a new job needs a new id)`, diff.key);
      return { job: this.books.get(found.id)?.job ?? found, existing: true };
    }
    const book = new JobBook(job);
    this.books.set(job.id, book);
    return { job, existing: false };
  }

  getJob(id: string): JobRecord {
    const live = this.books.get(id);
    if (live) return live.job;
    const job = this.journal.getJob(id);
    if (!job) throw new NotFoundError(`no job ${id}`);
    return job;
  }

  listJobs(): JobRecord[] {
    return this.journal.listJobs().map((j) => this.books.get(j.id)?.job ?? j);
  }

  counts(id: string): ChunkCounts {
    const book = this.books.get(id);
    if (!book) {
      const job = this.getJob(id);
      const failed = this.journal.quarantined(id).reduce((n, q) => n + q.span, 0);
      let done = job.chunks - failed;
      if (job.state === 'cancelled') {
        done = 0;
        for (const [, span] of this.journal.doneSpans(id)) done += span;
      }
      return { total: job.chunks, done, leased: 0, pending: job.chunks - done - failed, failed };
    }
    let leased = 0;
    for (const ls of book.leases.values()) if (ls.length > 0) leased += (ls[0] as Lease).span;
    const failed = book.quarantinedCount;
    return { total: book.job.chunks, done: book.doneCount, leased, pending: book.job.chunks - book.doneCount - leased - failed, failed };
  }

  /** State of each chunk (0 pending, 1 leased, 2 done, 3 failed), for the chunk map. */
  chunkStates(id: string): Uint8Array {
    const job = this.getJob(id);
    const out = new Uint8Array(job.chunks);
    const book = this.books.get(id);
    if (!book) {
      if (job.state === 'done') out.fill(2);
      else for (const [i, span] of this.journal.doneSpans(id)) out.fill(2, i, i + span);
      for (const q of this.journal.quarantined(id)) out.fill(3, q.index, q.index + q.span);
      return out;
    }
    for (let i = 0; i < job.chunks; i++) if (book.isDone(i)) out[i] = 2;
    for (const [i, ls] of book.leases) if (ls.length > 0) out.fill(1, i, i + (ls[0] as Lease).span);
    for (const [i, q] of book.quarantined) out.fill(3, i, i + q.span);
    return out;
  }

  /**
   * The chunk map summarised into about `cells` cells of [pending, leased, done, failed] counts without
   * a byte per chunk (issue 17, item 9: a 1e8-chunk job cost 0.58 s of event loop a call): cells are a
   * whole number of bitmap bytes wide and done chunks are counted a byte at a time; leases and
   * quarantined spans are added by range. A finished job's map never changes and is kept (16 jobs).
   */
  chunkCells(id: string, cells: number): { total: number; cells: number[][] } {
    const job = this.getJob(id);
    const n = job.chunks;
    const cached = this.cellCache.get(id);
    if (cached && cached.cells === cells) return cached.map;
    let k = Math.max(1, Math.ceil(n / Math.max(1, cells)));
    if (k > 8) k = Math.ceil(k / 8) * 8;
    const m = Math.ceil(n / k);
    const out: number[][] = Array.from({ length: m }, (_, c) => [Math.min(k, n - c * k), 0, 0, 0]);
    /** Moves `count` chunks from pending to state `s`, spread over the cells of [from, to). */
    const add = (from: number, to: number, s: 1 | 2 | 3): void => {
      for (let c = Math.floor(from / k); c * k < to && c < m; c++) {
        const cell = out[c] as number[];
        const x = Math.max(0, Math.min(to, (c + 1) * k) - Math.max(from, c * k));
        const moved = Math.min(x, cell[0] as number);
        cell[0] = (cell[0] as number) - moved;
        cell[s] = (cell[s] as number) + moved;
      }
    };
    const book = this.books.get(id);
    if (!book) {
      if (job.state === 'done') add(0, n, 2);
      else for (const [i, span] of this.journal.doneSpans(id)) add(i, i + span, 2);
      for (const q of this.journal.quarantined(id)) add(q.index, q.index + q.span, 3);
      const map = { total: n, cells: out };
      this.cellCache.set(id, { cells, map });
      if (this.cellCache.size > 16) this.cellCache.delete(this.cellCache.keys().next().value as string);
      return map;
    }
    for (let c = 0; c < m; c++) {
      const cell = out[c] as number[];
      const from = c * k;
      const to = Math.min(n, from + k);
      let d = 0;
      if (k % 8 === 0) {
        for (let b = from >> 3; b < (to + 7) >> 3; b++) d += POPCOUNT[book.done[b] ?? 0] as number;
      } else for (let i = from; i < to; i++) if (book.isDone(i)) d++;
      cell[0] = (cell[0] as number) - d;
      cell[2] = d;
    }
    for (const [i, q] of book.quarantined) add(i, i + q.span, 3);
    for (const [i, ls] of book.leases) if (ls.length > 0) add(i, i + (ls[0] as Lease).span, 1);
    return { total: n, cells: out };
  }

  quarantinedChunks(id: string): { index: number; error: string }[] {
    const book = this.books.get(id);
    if (book) return [...book.quarantined].map(([index, q]) => ({ index, error: q.error })).sort((a, b) => a.index - b.index);
    return this.journal.quarantined(id).map((q) => ({ index: q.index, error: q.error }));
  }

  /** How many leases a worker holds now (O(1): the head's flow control asks on every result). */
  heldBy(worker: string): number {
    return this.byWorker.get(worker)?.size ?? 0;
  }

  /** Leases currently held, for the dashboard. */
  leasesOf(worker: string): Lease[] {
    const out: Lease[] = [];
    for (const t of this.byWorker.get(worker) ?? []) {
      const l = this.byToken.get(t);
      if (l) out.push(l);
    }
    return out;
  }

  cancel(id: string): JobRecord {
    const book = this.books.get(id);
    const job = this.getJob(id);
    if (!book || TERMINAL_STATES.has(job.state)) throw new ConflictError(`job ${id} is already ${job.state}`);
    this.revokeAll(book);
    this.setState(book, 'cancelled');
    this.books.delete(id);
    return book.job;
  }

  private setState(book: JobBook, state: JobState, error: string | null = null): void {
    const from = book.job.state;
    if (from === state) return;
    const now = this.clock.now();
    book.job = {
      ...book.job,
      state,
      error,
      startedAt: book.job.startedAt ?? (state === 'running' ? now : null),
      finishedAt: TERMINAL_STATES.has(state) ? now : null,
    };
    this.journal.setJobState(book.job.id, state, now, error);
    this.emit({ type: 'job-state', job: book.job, from });
  }

  private finish(book: JobBook): void {
    this.revokeAll(book);
    if (book.quarantined.size > 0) {
      const list = [...book.quarantined.keys()].sort((a, b) => a - b);
      const shown = list.slice(0, 10).join(', ') + (list.length > 10 ? `, ... (${list.length} in all)` : '');
      this.setState(book, 'failed', `chunks failed ${book.job.maxAttempts} times and were quarantined: ${shown}`);
    } else {
      this.setState(book, 'done');
    }
    this.books.delete(book.job.id);
  }

  // ---- workers ----

  /**
   * A worker joined with `slots` slots (its share of a job's tail is sized by slots). `helper: true`
   * registers a head-side helper that takes only its own jobs' chunks (the Life coordinator, in every
   * head): it is not another worker a failed chunk could wait for (it takes its own jobs' retries),
   * and its slots do not share other jobs' tails (sharedSlots).
   */
  registerWorker(worker: string, slots = 1, o: { helper?: boolean } = {}): void {
    this.silent.delete(worker);
    const n = Math.max(1, slots);
    const before = this.sharedSlots(worker);
    if (o.helper === true) this.helpers.add(worker);
    this.slots.set(worker, n);
    this.slotTotal += this.sharedSlots(worker) - before;
  }

  /**
   * The slots of a worker that share a job's tail (spanFor): none for a head-side helper, which takes
   * only its own jobs' chunks (the Life coordinator is registered in every head: counted, it made a
   * two-slot run's tail leases a third smaller than its two slots needed).
   */
  private sharedSlots(worker: string): number {
    return this.helpers.has(worker) ? 0 : (this.slots.get(worker) ?? 0);
  }

  private totalSlots(): number {
    return Math.max(1, this.slotTotal);
  }

  /**
   * A worker disconnected or drained: its leases return to the queue at once. A `lost` worker's
   * leases count as failed attempts (a chunk that kills every worker ends in quarantine).
   */
  releaseWorker(worker: string, reason: 'lost' | 'drained'): Lease[] {
    this.slotTotal -= this.sharedSlots(worker);
    this.slots.delete(worker);
    this.helpers.delete(worker);
    this.silent.delete(worker);
    const tokens = this.byWorker.get(worker);
    this.byWorker.delete(worker);
    const released: Lease[] = [];
    for (const t of tokens ?? []) {
      const lease = this.byToken.get(t);
      if (!lease) continue;
      released.push(lease);
      this.dropLease(lease);
      if (reason === 'lost') this.recordFailure(lease, 'worker lost while holding the chunk');
      else this.requeue(lease);
    }
    return released;
  }

  /**
   * Gives out up to `n` chunks to `worker`: by priority, then submission order; retries first.
   * `accept` limits the jobs this worker may take (a seed-000 client takes only primes --list jobs).
   */
  lease(worker: string, n: number, accept?: (job: JobRecord) => boolean): Assignment[] {
    const out: Assignment[] = [];
    if (n <= 0 || this.barred(worker) || this.silent.has(worker)) return out;
    const books = [...this.books.values()]
      .filter((b) => !accept || accept(b.job))
      .sort((a, b) => b.job.priority - a.job.priority || a.job.seq - b.job.seq);
    for (const book of books) {
      // a lease far past its holder's own expected time gets a backup copy first, at any point of the job
      while (this.speculate && out.length < n) {
        const late = this.nextOverdue(book, worker);
        if (late === null) break;
        this.stats.backups++;
        this.stats.overdueBackups++;
        const attempt = book.takeAttempt(late.index);
        const token = this.signer.signRun(book.job.id, late.index, late.span, attempt, 1)[0] as string;
        out.push(this.issue(book, late.index, late.span, worker, true, attempt, token));
      }
      // picks first, then one signature per run of adjacent spans of one size and attempt
      const picks: Pick[] = [];
      const cap = this.sizedCap(book, worker);
      while (out.length + picks.length < n && (book.held.get(worker) ?? 0) + picks.length < cap) {
        const next = this.nextSpan(book, worker);
        if (next === null) break;
        picks.push({ ...next, attempt: book.takeAttempt(next.i) });
      }
      for (let a = 0; a < picks.length; ) {
        const p0 = picks[a] as Pick;
        let b = a + 1;
        for (; b < picks.length; b++) {
          const p = picks[b] as Pick;
          if (p.span !== p0.span || p.attempt !== p0.attempt || p.i !== p0.i + (b - a) * p0.span) break;
        }
        const tokens = this.signer.signRun(book.job.id, p0.i, p0.span, p0.attempt, b - a);
        for (let k = a; k < b; k++) {
          const p = picks[k] as Pick;
          out.push(this.issue(book, p.i, p.span, worker, false, p.attempt, tokens[k - a] as string));
        }
        a = b;
      }
      if (out.length >= n) break;
    }
    if (out.length < n && this.speculate) {
      for (const book of books) {
        while (out.length < n) {
          const lease = this.straggler(book, worker);
          if (lease === null) break;
          this.stats.backups++;
          const attempt = book.takeAttempt(lease.index);
          const token = this.signer.signRun(book.job.id, lease.index, lease.span, attempt, 1)[0] as string;
          out.push(this.issue(book, lease.index, lease.span, worker, true, attempt, token));
        }
      }
    }
    return out;
  }

  /** Retries first (preferring spans this worker has not failed), then a fresh span from the cursor. */
  private nextSpan(book: JobBook, worker: string): { i: number; span: number } | null {
    for (let k = 0; k < book.retry.length; k++) {
      const r = book.retry[k] as { i: number; span: number };
      if (!book.open(r.i)) {
        book.retry.splice(k, 1);
        k--;
        continue;
      }
      if (book.voted(r.i, worker)) continue; // a copy must come from another worker
      const f = book.failures.get(r.i);
      // another worker could take it: wait for it (with one worker, even the Life coordinator
      // registered beside it, the chunk comes back to this one, or a failure hung the job). A head-side
      // helper (the Life coordinator) is the only taker of its jobs' chunks: it takes its own retries,
      // or a Life job that failed once with two workers connected waited for ever
      if (f && f.workers.has(worker) && !this.helpers.has(worker) && this.slots.size - this.helpers.size > f.workers.size) continue;
      book.retry.splice(k, 1);
      return r;
    }
    while (book.cursor < book.job.chunks) {
      const i = book.cursor++;
      if (!book.open(i)) continue;
      const want = this.spanFor(book, worker);
      let span = 1;
      while (span < want && i + span < book.job.chunks && book.open(i + span)) span++;
      book.cursor = i + span;
      book.lastSpan.set(worker, span);
      return { i, span };
    }
    return null;
  }

  /**
   * Leases of a job sized by time that a worker may hold: one running and one waiting per slot. Its
   * window (in chunks) is for tiny chunks; spans of --chunk-time seconds would otherwise pile up on one
   * worker (a window of 65 took a whole job's tail at once, and the other workers got it back only as
   * speculative copies), and before its speed is known it would fill up with single chunks.
   */
  private sizedCap(book: JobBook, worker: string): number {
    const slots = this.slots.get(worker) ?? 1;
    if (book.job.chunkMs !== null) return 2 * slots;
    // fixed chunks (issue 17, item 18): about HOLD_MS of work per slot at the worker's measured speed,
    // so a worker that asks for 1,024 chunks and sits on them holds a handful, not the job
    const rate = book.msPerChunk.get(worker);
    if (rate === undefined) return Math.max(4 * slots, FIRST_HOLD);
    return slots * Math.max(2, Math.ceil(HOLD_MS / Math.max(rate, 1e-3)));
  }

  /** The next single-copy lease of another worker that is overdue by its holder's own expected time. */
  private nextOverdue(book: JobBook, worker: string): Lease | null {
    const now = this.clock.now();
    if (book.overdue.length === 0 && now - book.overdueScanAt >= OVERDUE_SCAN_MS) {
      book.overdueScanAt = now;
      const median = book.medianDuration();
      for (const [i, ls] of book.leases) {
        if (ls.length !== 1 || book.inflight.has(i)) continue;
        const l = ls[0] as Lease;
        const per = book.msPerChunk.get(l.worker) ?? median;
        if (per === null || per === undefined) continue;
        const queue = Math.min(QUEUE_CREDIT, Math.max(1, (book.held.get(l.worker) ?? 1) / (this.slots.get(l.worker) ?? 1)));
        if (now - l.issuedAt > OVERDUE_MIN_MS + OVERDUE_FACTOR * per * l.span * queue) book.overdue.push(l);
      }
      book.overdue.sort((a, b) => a.issuedAt - b.issuedAt);
    }
    for (let k = 0; k < book.overdue.length; k++) {
      const l = book.overdue[k] as Lease;
      const ls = book.leases.get(l.index);
      const live = this.byToken.get(l.token) === l && ls?.length === 1 && !book.inflight.has(l.index);
      if (!live) {
        book.overdue.splice(k--, 1);
        continue;
      }
      if (l.worker === worker || book.voted(l.index, worker)) continue;
      book.overdue.splice(k, 1);
      return l;
    }
    return null;
  }

  /**
   * Chunks per lease for a job sized by time: start at one, then aim at chunkMs from the worker's
   * measured speed, growing at most 4x a step; near the end, small enough to share the tail.
   */
  private spanFor(book: JobBook, worker: string): number {
    const target = book.job.chunkMs;
    if (target === null) return 1;
    const rate = book.msPerChunk.get(worker);
    if (rate === undefined) return 1;
    let k = Math.floor(target / Math.max(rate, 1e-3));
    k = Math.min(k, (book.lastSpan.get(worker) ?? 1) * 4, this.maxSpan);
    // keep at least ~3 leases per slot in what is left, so the tail is shared by every slot
    const left = book.job.chunks - book.cursor;
    k = Math.min(k, Math.max(1, Math.floor(left / (3 * this.totalSlots()))));
    return Math.max(1, k);
  }

  /** The longest-running single-copy lease of a job, once its run time is well past the median. */
  private straggler(book: JobBook, worker: string): Lease | null {
    if (book.retry.length > 0 || book.cursor < book.job.chunks) return null;
    const median = book.medianDuration();
    if (median === null) return null;
    const now = this.clock.now();
    let best: Lease | null = null;
    let bestAge = 50;
    for (const [i, ls] of book.leases) {
      if (ls.length !== 1 || book.inflight.has(i)) continue;
      const l = ls[0] as Lease;
      if (l.worker === worker || book.voted(i, worker)) continue;
      const age = now - l.issuedAt;
      // compare with the median time of a lease of this size
      if (age > Math.max(bestAge, median * l.span * this.speculateFactor)) {
        bestAge = age;
        best = l;
      }
    }
    return best;
  }

  private issue(book: JobBook, index: number, span: number, worker: string, backup: boolean, attempt: number, token: string): Assignment {
    const now = this.clock.now();
    const lease: Lease = { token, jobId: book.job.id, index, span, attempt, worker, deadline: now + this.leaseMs, issuedAt: now, backup };
    const ls = book.leases.get(index);
    if (ls) ls.push(lease);
    else book.leases.set(index, [lease]);
    book.held.set(worker, (book.held.get(worker) ?? 0) + 1);
    this.byToken.set(token, lease);
    let mine = this.byWorker.get(worker);
    if (!mine) this.byWorker.set(worker, (mine = new Set()));
    mine.add(token);
    if (book.job.state === 'queued') this.setState(book, 'running');
    const bounds = spanBounds(book.job, index, span);
    return { token, jobId: book.job.id, index, span, attempt, task: book.job.task, params: book.job.params, start: bounds.start, end: bounds.end, backup };
  }

  private dropLease(lease: Lease): void {
    this.byToken.delete(lease.token);
    this.byWorker.get(lease.worker)?.delete(lease.token);
    const book = this.books.get(lease.jobId);
    if (!book) return;
    const ls = book.leases.get(lease.index);
    if (!ls) return;
    const k = ls.findIndex((l) => l.token === lease.token);
    if (k < 0) return;
    ls.splice(k, 1);
    if (ls.length === 0) book.leases.delete(lease.index);
    const h = (book.held.get(lease.worker) ?? 1) - 1;
    if (h > 0) book.held.set(lease.worker, h);
    else book.held.delete(lease.worker);
  }

  private requeue(lease: Lease): void {
    const book = this.books.get(lease.jobId);
    if (!book || !book.free(lease.index)) return;
    if (book.leases.has(lease.index)) return; // another copy still runs
    book.retry.push({ i: lease.index, span: lease.span });
  }

  /** Extends every lease the worker holds. Returns tokens the worker holds that are no longer valid. */
  heartbeat(worker: string, tokens: readonly string[] = []): string[] {
    this.silent.delete(worker);
    const deadline = this.clock.now() + this.leaseMs;
    for (const t of this.byWorker.get(worker) ?? []) {
      const l = this.byToken.get(t);
      if (l) l.deadline = deadline;
    }
    return tokens.filter((t) => this.byToken.get(t)?.worker !== worker);
  }

  /** Returns expired leases to the queue (each counts as a failed attempt). Call it on a timer. */
  expire(): Lease[] {
    const now = this.clock.now();
    const expired: Lease[] = [];
    for (const l of this.byToken.values()) if (l.deadline <= now) expired.push(l);
    for (const l of expired) {
      this.dropLease(l);
      this.silent.add(l.worker);
      this.stats.expired++;
      this.emit({ type: 'lease-expired', lease: l });
      this.recordFailure(l, `lease expired after ${this.leaseMs} ms without a heartbeat`);
    }
    return expired;
  }

  /** A worker reports that a chunk failed (the kernel threw, the slot died). */
  fail(worker: string, token: string, error: string): void {
    const lease = this.byToken.get(token);
    if (!lease || lease.worker !== worker) return;
    this.dropLease(lease);
    this.recordFailure(lease, error);
  }

  private recordFailure(lease: Lease, error: string): void {
    const book = this.books.get(lease.jobId);
    if (!book || !book.free(lease.index)) return;
    if (book.leases.has(lease.index)) return; // a backup copy still runs
    const f = book.noteFailure(lease.index, lease.worker, error);
    this.journal.recordFailure({ jobId: lease.jobId, index: lease.index, attempt: lease.attempt, worker: lease.worker, error, at: this.clock.now() });
    this.emit({ type: 'chunk-failed', jobId: lease.jobId, index: lease.index, worker: lease.worker, error, attempts: f.attempts });
    if (f.attempts >= book.job.maxAttempts) {
      const msg = `failed ${f.attempts} times on ${f.workers.size} worker(s); last error: ${error}`;
      book.markFailed(lease.index, lease.span, msg);
      this.journal.quarantine({ jobId: lease.jobId, index: lease.index, span: lease.span, error: msg });
      this.emit({ type: 'chunk-quarantined', jobId: lease.jobId, index: lease.index, error: msg });
      if (book.finished()) this.finish(book);
    } else {
      this.requeue(lease);
    }
  }

  /**
   * Accepts results: every new result row and its done mark are written in one journal
   * transaction before this returns (the caller acknowledges only after). Late results from
   * expired leases are accepted if their token is genuine and the chunk is not yet done.
   */
  complete(results: readonly ResultInput[]): ResultOutcome[] {
    const p = this.prepare(results);
    if (p.rows.length > 0) this.apply(p, this.journal.commitChunks(p.rows));
    return p.outcomes;
  }

  /**
   * The same, with the commit off the event loop where the journal can (SqliteJournal's commit
   * thread): chunks being committed count as done for every other decision until it resolves.
   */
  async completeAsync(results: readonly ResultInput[]): Promise<ResultOutcome[]> {
    const p = this.prepare(results);
    if (p.rows.length === 0) return p.outcomes;
    for (const { book, r } of p.pending) book.inflight.add(r.index);
    let fresh: boolean[];
    try {
      fresh = await this.journal.commitChunksAsync(p.rows);
    } finally {
      for (const { book, r } of p.pending) book.inflight.delete(r.index);
    }
    this.apply(p, fresh);
    return p.outcomes;
  }

  private prepare(results: readonly ResultInput[]): Prepared {
    for (const r of results) this.silent.delete(r.worker); // heard from
    const outcomes: ResultOutcome[] = new Array<ResultOutcome>(results.length).fill('rejected');
    const rows: ChunkResultRecord[] = [];
    const pending: Prepared['pending'] = [];
    const seen = new Set<string>();
    for (let k = 0; k < results.length; k++) {
      const r = results[k] as ResultInput;
      const book = this.books.get(r.jobId);
      const lease = this.byToken.get(r.token);
      const genuine = lease
        ? lease.jobId === r.jobId && lease.index === r.index && lease.span === r.span
        : this.signer.verify(r.token, r.jobId, r.index, r.span);
      if (!genuine) {
        this.stats.rejected++;
        continue;
      }
      if (!book) {
        // finished or cancelled job: a late copy
        const job = this.journal.getJob(r.jobId);
        if (job && job.state !== 'cancelled') {
          outcomes[k] = 'duplicate';
          this.stats.duplicates++;
        } else this.stats.rejected++;
        continue;
      }
      const key = `${r.jobId}:${r.index}`;
      if (book.settled(r.index) || r.index + r.span > book.job.chunks || seen.has(key)) {
        outcomes[k] = 'duplicate';
        this.stats.duplicates++;
        continue;
      }
      const need = book.need.get(r.index);
      const winner = this.vote(book, r, lease);
      if (winner === null) {
        outcomes[k] = book.voted(r.index, r.worker) ? 'voted' : 'duplicate';
        continue;
      }
      seen.add(key);
      rows.push({ jobId: r.jobId, index: r.index, span: r.span, attempt: lease?.attempt ?? 0, worker: winner.worker, summary: winner.summary, output: winner.output, finishedAt: this.clock.now() });
      pending.push({ k, book, r, agreed: need !== undefined });
    }
    return { outcomes, rows, pending };
  }

  /**
   * Replication (issue 17, item 17): a chunk that needs more than one copy is committed only when two
   * copies from different workers agree (summary and output alike); until then each copy is held here
   * and the chunk goes back to the queue for a worker that has not run it. Returns the result to
   * commit, or null while the chunk waits for agreement.
   */
  private vote(book: JobBook, r: ResultInput, lease: Lease | undefined): ResultInput | null {
    const job = book.job;
    let need = book.need.get(r.index);
    if (need === undefined) {
      need = (job.replicas ?? 1) > 1 ? 2 : (job.verify ?? 0) > 0 && this.random() * 100 < (job.verify ?? 0) ? 2 : 1;
      // a worker caught lying before is always checked
      if (this.suspects.has(r.worker)) need = 2;
      if (need === 1) return r;
      book.need.set(r.index, need);
      this.stats.verified++;
    }
    if (book.voted(r.index, r.worker)) {
      this.stats.duplicates++;
      return null;
    }
    const key = voteKey(r);
    const votes = book.votes.get(r.index) ?? [];
    const agree = votes.filter((v) => v.key === key);
    this.stats.votes++;
    if (agree.length + 1 >= need) {
      // agreement: every copy that differs is outvoted
      const majority = [r.worker, ...agree.map((v) => v.worker)];
      for (const v of votes) if (v.key !== key) this.strike(job.id, r.index, v.worker, majority);
      book.votes.delete(r.index);
      book.need.delete(r.index);
      return r;
    }
    votes.push({ worker: r.worker, key, input: r });
    book.votes.set(r.index, votes);
    // this copy's lease is spent; the chunk goes to another worker (a third one decides a disagreement)
    if (lease) this.dropLease(lease);
    if (!book.leases.has(r.index)) book.retry.push({ i: r.index, span: r.span });
    if (r.ms !== undefined && r.ms >= 0) book.msPerChunk.set(r.worker, r.ms / r.span);
    return null;
  }

  private strike(jobId: string, index: number, worker: string, majority: string[]): void {
    const n = (this.strikes.get(worker) ?? 0) + 1;
    this.strikes.set(worker, n);
    this.suspects.add(worker);
    this.stats.disagreements++;
    this.journal.setWorkerStanding({ worker, strikes: n, suspect: true });
    this.emit({ type: 'disagreement', jobId, index, worker, majority, strikes: n });
    const book = this.books.get(jobId);
    if (book) this.recheck(book, worker);
    if (n >= MAX_STRIKES) {
      // no more work: what it holds goes back (uncounted, as with any liar)
      for (const l of this.releaseHeld(worker)) this.emit({ type: 'revoke', worker, tokens: [l.token] });
    }
  }

  /**
   * A worker caught lying in a job: every result it committed there is taken back (its row removed,
   * the chunk not done) and runs again; a copy from a suspect is always compared, so the fold sees
   * only values another worker gave. Under `--replicas` every row already had an agreeing copy from
   * another worker: nothing to take back. (Under `--verify`, its drawn chunks had one too and run
   * again anyway: which rows were compared is not kept.) A job that finished before the lie was
   * caught is not reopened.
   */
  private recheck(book: JobBook, worker: string): void {
    if ((book.job.replicas ?? 1) > 1 || book.rechecked.has(worker)) return;
    book.rechecked.add(worker);
    const redo: [number, number, number][] = [];
    for (const r of this.journal.results(book.job.id)) {
      if (r.worker === worker && !book.inflight.has(r.index)) redo.push([r.index, r.span, r.attempt]);
    }
    if (redo.length === 0) return;
    this.journal.uncommitChunks(book.job.id, redo.map(([i]) => i));
    for (const [i, span, attempt] of redo) this.retake(book, i, span, attempt);
    this.stats.rechecked += redo.length;
    this.emit({ type: 'recheck', jobId: book.job.id, worker, chunks: redo.length });
  }

  /** A done span goes back to the queue, to be run again; its new leases get new tokens (a later attempt). */
  private retake(book: JobBook, i: number, span: number, attempt: number): void {
    book.nextAttempt.set(i, Math.max(book.nextAttempt.get(i) ?? 1, attempt + 1));
    book.unmarkDone(i, span);
    book.need.delete(i);
    book.votes.delete(i);
    book.retry.push({ i, span });
  }

  /** Returns a worker's leases to the queue without counting failures, keeping it registered. */
  private releaseHeld(worker: string): Lease[] {
    const released: Lease[] = [];
    for (const t of [...(this.byWorker.get(worker) ?? [])]) {
      const lease = this.byToken.get(t);
      if (!lease) continue;
      released.push(lease);
      this.dropLease(lease);
      this.requeue(lease);
    }
    return released;
  }

  /** Whether a worker has MAX_STRIKES strikes and gets no work until an admin clears it. */
  barred(worker: string): boolean {
    return (this.strikes.get(worker) ?? 0) >= MAX_STRIKES;
  }

  /** A worker's standing: suspect once outvoted, barred at MAX_STRIKES. */
  standing(worker: string): { suspect: boolean; strikes: number; barred: boolean } {
    return { suspect: this.suspects.has(worker), strikes: this.strikes.get(worker) ?? 0, barred: this.barred(worker) };
  }

  /** `bramble node clear`: forgets a worker's strikes, in the journal too; it gets work again. */
  clearWorker(worker: string): boolean {
    const had = this.suspects.delete(worker);
    const struck = this.strikes.delete(worker);
    if (had || struck) this.journal.setWorkerStanding({ worker, strikes: 0, suspect: false });
    // trusted again: what it commits from now on is taken back too if it is caught again
    for (const b of this.books.values()) b.rechecked.delete(worker);
    return had || struck;
  }

  private apply(p: Prepared, fresh: boolean[]): void {
    const now = this.clock.now();
    const touched = new Set<JobBook>();
    for (let j = 0; j < p.pending.length; j++) {
      const { k, book, r, agreed } = p.pending[j] as Prepared['pending'][number];
      if (!fresh[j]) {
        p.outcomes[k] = 'duplicate';
        this.stats.duplicates++;
        book.markDone(r.index, r.span);
        continue;
      }
      p.outcomes[k] = 'accepted';
      this.stats.accepted++;
      if (this.books.get(book.job.id) !== book) continue; // cancelled while committing
      book.unmarkFailed(r.index);
      book.markDone(r.index, r.span);
      book.nextAttempt.delete(r.index); // only chunks in play keep an attempt counter: memory stays flat
      const copies = book.leases.get(r.index) ?? [];
      const mine = copies.find((l) => l.token === r.token);
      if (mine) {
        book.durations.push((now - mine.issuedAt) / mine.span);
        if (book.durations.length > 64) book.durations.shift();
      }
      if (r.ms !== undefined && r.ms >= 0) {
        const per = r.ms / r.span;
        const old = book.msPerChunk.get(r.worker);
        book.msPerChunk.set(r.worker, old === undefined ? per : 0.5 * old + 0.5 * per);
      }
      for (const l of [...copies]) {
        this.dropLease(l);
        if (l.token !== r.token) this.emit({ type: 'revoke', worker: l.worker, tokens: [l.token] });
      }
      this.emit({ type: 'chunk-done', jobId: r.jobId, index: r.index, worker: r.worker, summary: r.summary });
      touched.add(book);
      // committed on trust while its worker was being caught (the commit was in flight): run it again
      if (!agreed && this.suspects.has(p.rows[j]?.worker ?? r.worker)) {
        this.journal.uncommitChunks(book.job.id, [r.index]);
        this.retake(book, r.index, r.span, p.rows[j]?.attempt ?? 0);
        this.stats.rechecked++;
        this.emit({ type: 'recheck', jobId: book.job.id, worker: r.worker, chunks: 1 });
      }
    }
    for (const book of touched) if (book.finished() && this.books.has(book.job.id)) this.finish(book);
  }

  private revokeAll(book: JobBook): void {
    const byWorker = new Map<string, string[]>();
    for (const ls of book.leases.values()) {
      for (const l of [...ls]) {
        const list = byWorker.get(l.worker) ?? [];
        list.push(l.token);
        byWorker.set(l.worker, list);
        this.dropLease(l);
      }
    }
    book.leases.clear();
    for (const [worker, tokens] of byWorker) this.emit({ type: 'revoke', worker, tokens });
  }

  /** True when some job has work a worker could take now. */
  hasWork(): boolean {
    for (const b of this.books.values()) {
      if (b.retry.length > 0 || b.cursor < b.job.chunks) return true;
      if (this.speculate && b.leases.size > 0 && b.hasMedian()) return true;
    }
    return false;
  }

  activeJobs(): JobRecord[] {
    return [...this.books.values()].map((b) => b.job);
  }

  get leaseCount(): number {
    return this.byToken.size;
  }
}
