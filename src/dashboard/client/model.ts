/**
 * What the page reads from the head: the stream's snapshot and delta, and the API's replies. These are
 * the client's own copies of the server's types (the page is type-checked without Node's types, so it
 * cannot import the server's modules); `src/dashboard/client-contract.test.ts` checks that the
 * server's views still fit them.
 */

export type NodeState = 'ready' | 'draining' | 'stale' | 'lost' | 'gone';
export type JobState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export interface NodeView {
  id: string;
  name: string;
  instance: number;
  hostname: string;
  address: string;
  addresses: string[];
  state: NodeState;
  slots: number;
  busy: number;
  temp: number | null;
  cpu: number | null;
  rate: number | null;
  load: number[] | null;
  memTotal: number | null;
  memFree: number | null;
  model: string | null;
  os: string | null;
  arch: string | null;
  throttled: number | null;
  hot?: boolean;
  suspect?: boolean;
  strikes?: number;
  barred?: boolean;
  chunksDone: number | null;
  uptime: number | null;
  version: string | null;
  joinedAt: number;
  lastSeen: number;
}

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
  /** Why it waits: it needs workers started with --allow-code / --allow-exec (issue 12). */
  waiting?: string;
}

export interface JobView extends JobStatus {
  numbersPerSecond: number | null;
  primesPerSecond: number | null;
  hasOutput: boolean;
}

export interface HeadEvent {
  t: number;
  level: 'info' | 'warn' | 'error';
  kind: string;
  msg: string;
}

export interface Snapshot {
  now: number;
  head: string;
  staleMs: number;
  lostMs: number;
  nodes: NodeView[];
  jobs: JobView[];
  events: HeadEvent[];
}

export interface Delta {
  now: number;
  nodes: NodeView[];
  jobs: JobView[];
  events: HeadEvent[];
}

/** What changed since the last paint: everything (`full`), or these nodes, jobs and new events. */
export interface Change {
  full: boolean;
  nodes: string[];
  jobs: string[];
  events: HeadEvent[];
}

/** A page of the app: repainted on changes, torn down when the user leaves it. */
export interface View {
  update?(c: Change): void;
  destroy?(): void;
}

/** `GET /api/tasks`: the task definitions the submit form is drawn from. */
export interface TaskParam {
  name: string;
  flag: string;
  type: 'integer' | 'number' | 'string' | 'boolean' | 'enum' | string;
  description: string;
  default?: unknown;
  choices?: readonly string[] | null;
  /** The value is a file's text (life --pattern: an RLE file). */
  file?: boolean;
}
export interface TaskInfo {
  name: string;
  description: string;
  params: TaskParam[];
  range: boolean;
  output: { mediaType: string; extension: string } | null;
}

/** `GET /api/nodes/:id`. */
export interface NodeDetail {
  id: string;
  name: string;
  instance: number;
  hostname: string;
  remote: string;
  addresses: string[];
  state: NodeState;
  slots: number;
  version: string | null;
  joinedAt: number;
  lastSeen: number;
  telemetry?: Partial<{ temp: number; cpu: number; rate: number; load: number[]; memTotal: number; memFree: number; model: string; os: string; arch: string; throttled: number; chunksDone: number; uptime: number }>;
  history?: { t: number; temp: number | null; cpu: number | null; rate: number | null }[];
  leases?: { job: string; index: number; attempt: number; since: number; backup?: boolean }[];
}

/** `GET /api/jobs/:id/chunks?cells=N`: per cell, chunks [pending, leased, done, failed]. */
export interface ChunkMap {
  total: number;
  cells: [number, number, number, number][];
}

/** An API error body. */
export interface ApiError {
  code?: string;
  message?: string;
  field?: string;
}
