import type { JobRecord, JobState } from './job.js';

/** One accepted chunk result, written with the chunk's `done` mark in one transaction. */
export interface ChunkResultRecord {
  jobId: string;
  index: number;
  /** Consecutive chunks this row covers, from `index`. */
  span: number;
  attempt: number;
  worker: string;
  /** Task summary of the chunk (small, MessagePack-able). */
  summary: unknown;
  /** Optional compact full output of the chunk (e.g. primes as varint gaps). */
  output: Uint8Array | null;
  finishedAt: number;
}

export interface ChunkFailureRecord {
  jobId: string;
  index: number;
  attempt: number;
  worker: string;
  error: string;
  at: number;
}

export interface QuarantineRecord {
  jobId: string;
  index: number;
  span: number;
  error: string;
}

/** A worker's standing (issue 17, item 17): outvoted results and suspicion, kept across head restarts. */
export interface WorkerStandingRecord {
  worker: string;
  strikes: number;
  suspect: boolean;
}

/**
 * Durable state of the ledger. The scheduler never talks to a datastore but through this.
 * `SqliteJournal` is the embedded default; every implementation passes `journal.contract.ts`.
 */
export interface Journal {
  /**
   * Creates the job only if no job has its id, atomically (a unique key; in etcd a transaction on the
   * job key's absence): returns undefined when it was created, else the job already there, unchanged.
   */
  createJob(job: JobRecord): JobRecord | undefined;
  setJobState(id: string, state: JobState, at: number, error?: string | null): void;
  setJobSummary(id: string, summary: unknown): void;
  getJobSummary(id: string): unknown;
  getJob(id: string): JobRecord | undefined;
  listJobs(): JobRecord[];
  /**
   * Writes each result row and its done mark atomically (all in one transaction) and returns, per
   * row, true when it was new and false when that chunk was already done (a duplicate).
   */
  commitChunks(rows: ChunkResultRecord[]): boolean[];
  /**
   * The same, off the caller's thread where the journal can (SqliteJournal's commit thread):
   * resolves once the rows are durable. The head's group commit uses this one.
   */
  commitChunksAsync(rows: ChunkResultRecord[]): Promise<boolean[]>;
  /** [index, span] of every result row of a job, for rebuilding the ledger after a restart. */
  doneSpans(jobId: string): Iterable<[number, number]>;
  recordFailure(failure: ChunkFailureRecord): void;
  failures(jobId: string): ChunkFailureRecord[];
  quarantine(record: QuarantineRecord): void;
  quarantined(jobId: string): QuarantineRecord[];
  /**
   * Removes result rows of a job (with their outputs) so their chunks run again: the rows a worker
   * committed before it was caught lying (issue 17, item 17). Indices without a row are ignored.
   */
  uncommitChunks(jobId: string, indices: readonly number[]): void;
  /** Writes a worker's standing; one with no strikes and no suspicion is deleted (an admin cleared it). */
  setWorkerStanding(record: WorkerStandingRecord): void;
  /** Every worker with strikes or under suspicion. */
  workerStandings(): WorkerStandingRecord[];
  /** Accepted results of a job in chunk-index order, streamed (never all in memory). */
  results(jobId: string, options?: { withOutput?: boolean; from?: number }): IterableIterator<ChunkResultRecord>;
  close(): void;
}
