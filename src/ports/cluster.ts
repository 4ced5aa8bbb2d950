import type { JobRecord, JobState } from '../core/index.js';
import type { TelemetryFields } from '../protocol/index.js';

/**
 * What the head knows of a worker:
 * - `ready`: connected and reporting
 * - `draining`: finishing its chunks before it stops
 * - `stale`: connected or not, no report for `staleMs`
 * - `lost`: no report for `lostMs` (kept on the wall, marked)
 * - `gone`: left cleanly
 */
export type NodeState = 'ready' | 'draining' | 'stale' | 'lost' | 'gone';

export interface HistoryPoint {
  t: number;
  temp: number | null;
  cpu: number | null;
  rate: number | null;
}

export interface NodeRecord {
  id: string;
  name: string;
  instance: number;
  hostname: string;
  addresses: string[];
  remote: string;
  slots: number;
  kernels: string[];
  pid: number;
  version: string | null;
  state: NodeState;
  connected: boolean;
  legacy: boolean;
  /** Runs commands (`--allow-exec`): `bramble agent` and `bramble mpirun` may use it. */
  allowExec?: boolean;
  joinedAt: number;
  lastSeen: number;
  telemetry: TelemetryFields;
  history: HistoryPoint[];
}

/** Every event worth showing: the log stream of the dashboard and the head's own logs. */
export interface HeadEvent {
  t: number;
  level: 'info' | 'warn' | 'error';
  kind: string;
  msg: string;
}

export type ChangeKind = 'jobs' | 'nodes';

export interface JobStatus {
  id: string;
  task: string;
  state: JobState;
  params: Record<string, unknown>;
  start: string;
  end: string;
  chunk: string;
  priority: number;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  error: string | null;
  chunks: { total: number; done: number; leased: number; pending: number; failed: number };
  progress: number;
  rate: number | null;
  etaSeconds: number | null;
  live: Record<string, unknown>;
  failedChunks: { index: number; error: string }[];
  /** Why a job waits although workers are connected (it needs `--allow-code` or `--allow-exec`); absent otherwise. */
  waiting?: string;
}

/** A node with what it holds now: `busy` chunks (queued or running), and whether it is held back as hot. */
/** `suspect`: outvoted by other workers' copies of a chunk (issue 17, item 17); `barred`: no work until cleared. */
export type NodeLoad = NodeRecord & { busy: number; hot: boolean; suspect: boolean; strikes: number; barred: boolean };

/** Counters of the worker port and the ledger, for `/metrics` and `/api/stats`. */
export interface HeadCounters {
  resultsIn: number;
  badMessages: number;
  authFailures: number;
  assignFrames: number;
  ackFrames: number;
}

export interface LedgerCounters {
  duplicates: number;
  rejected: number;
  expired: number;
  accepted: number;
  backups: number;
}

/**
 * What the dashboard and `/metrics` may read of a head: views, never the ledger or the node registry
 * themselves. `Head` implements it; the composition root hands it to the dashboard.
 */
export interface ClusterReadModel {
  readonly headId: string;
  /** Node stale and lost thresholds (ms), for the dashboard's legend. */
  readonly staleMs: number;
  readonly lostMs: number;
  onChange(l: (what: ChangeKind, id: string) => void): () => void;
  onEvent(l: (e: HeadEvent) => void): () => void;
  recentEvents(n: number): HeadEvent[];
  node(id: string): NodeRecord | undefined;
  nodeList(): NodeLoad[];
  /** Chunks a node holds now, queued or running. */
  busy(id: string): number;
  isHot(id: string): boolean;
  /** Outvoted by other workers' copies (issue 17, item 17): suspect, strikes, barred from work. */
  standing(id: string): { suspect: boolean; strikes: number; barred: boolean };
  connectedWorkers(): number;
  status(id: string): JobStatus;
  listJobs(): JobRecord[];
  activeJobs(): JobRecord[];
  counts(id: string): JobStatus['chunks'];
  readonly counters: HeadCounters;
  readonly ledgerStats: LedgerCounters;
}
