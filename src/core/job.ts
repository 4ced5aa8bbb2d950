/**
 * Lifecycle of a job:
 * - `queued`: accepted, no chunk given out yet
 * - `running`: at least one chunk leased
 * - `done`: every chunk has a result
 * - `failed`: every chunk finished, some quarantined after maxAttempts failures (listed in the status)
 * - `cancelled`: stopped by a user; every lease returned
 */
export type JobState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export const TERMINAL_STATES: ReadonlySet<JobState> = new Set(['done', 'failed', 'cancelled']);

export interface JobRecord {
  id: string;
  /** Submission order; FIFO within a priority. */
  seq: number;
  task: string;
  /** Task parameters, validated by the task before the job is created (JSON-able). */
  params: Record<string, unknown>;
  start: bigint;
  end: bigint;
  /** Numbers per chunk (a "grain" when chunkMs is set). */
  chunk: bigint;
  chunks: number;
  /**
   * Target time per lease (ms) when the user gave no --chunk: a lease then covers a span of
   * consecutive chunks sized to the worker's measured speed. null: one chunk per lease.
   */
  chunkMs: number | null;
  priority: number;
  maxAttempts: number;
  /**
   * Verification by replication (issue 17, item 17): each chunk runs on this many different workers
   * and is committed when two agree (a third decides a disagreement). Absent: 1.
   */
  replicas?: number;
  /** Percent of chunks (0-100), drawn at random as their first result arrives, re-run on another worker. Absent: 0. */
  verify?: number;
  state: JobState;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  error: string | null;
  /**
   * The request as submitted, canonical (`jobRequest`): a second submit with this job's id is
   * answered with this job when its request is equal, refused when not. Absent on jobs journaled
   * before idempotent submits.
   */
  request?: string | null;
}

/** A chunk given to a worker. */
export interface Lease {
  token: string;
  jobId: string;
  index: number;
  attempt: number;
  worker: string;
  /** Consecutive chunks covered, from `index`. */
  span: number;
  deadline: number;
  issuedAt: number;
  /** A speculative copy of a chunk already leased elsewhere. */
  backup: boolean;
}

export interface ChunkCounts {
  total: number;
  done: number;
  leased: number;
  pending: number;
  failed: number;
}
