import { TERMINAL_STATES } from '../core/index.js';
import type { JobRecord } from '../core/index.js';
import type { ClusterReadModel, HeadEvent, JobStatus, NodeRecord, NodeState } from '../ports/index.js';
import { getTask } from '../tasks/index.js';

/** One worker as the dashboard shows it: identity, state and its latest telemetry, flattened. */
export interface NodeView {
  id: string;
  name: string;
  instance: number;
  hostname: string;
  address: string;
  addresses: string[];
  state: NodeState;
  connected: boolean;
  legacy: boolean;
  slots: number;
  /** Slots computing a chunk: the chunks leased to it, at most its slots. */
  busy: number;
  /** Chunks leased to it, including the ones it prefetched. */
  leases: number;
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
  /** Hot (over --hot-temp) or throttled: the head gives it at most --hot-slots chunks. */
  hot: boolean;
  /** Outvoted by other workers (issue 17, item 17): every result compared; barred: no work until cleared. */
  suspect: boolean;
  strikes: number;
  barred: boolean;
  chunksDone: number | null;
  uptime: number | null;
  version: string | null;
  joinedAt: number;
  lastSeen: number;
}

/** A job as the dashboard shows it: the API's status plus rates and what can be downloaded. */
export interface JobView extends JobStatus {
  /** Numbers of the range covered per second (chunks per second times the chunk size). */
  numbersPerSecond: number | null;
  /** primes: primes found per second over the last ~10 s (over the whole run once finished). */
  primesPerSecond: number | null;
  hasOutput: boolean;
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
  /** Events left out of this delta because too many came at once. */
  eventsSkipped: number;
}

/** Jobs in a snapshot: every unfinished one and the most recent finished ones. */
const SNAPSHOT_FINISHED_JOBS = 100;
const SNAPSHOT_EVENTS = 300;
/** Views of finished jobs kept (the oldest is forgotten first and recomputed if asked for again). */
const FINISHED_CACHE = 1000;
/** Running jobs' rate and ETA move without events: refresh them this often. */
const RUNNING_REFRESH_MS = 1000;
const PRIME_RATE_WINDOW_MS = 10_000;

function preferredAddress(n: NodeRecord): string {
  const v4 = n.addresses.filter((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a) && !a.startsWith('169.254.'));
  if (v4.length > 0) return v4[0] as string;
  const remote = n.remote.replace(/^::ffff:/, '');
  return remote || (n.addresses[0] ?? '');
}

/**
 * Turns the head's state into the dashboard's JSON views, cheaply enough to run several times a
 * second with 240 nodes: a finished job's view never changes, so it is computed once and kept.
 */
export class ClusterViews {
  private readonly finished = new Map<string, JobView>();
  private readonly primeSamples = new Map<string, { t: number; n: bigint }[]>();
  private readonly busySeen = new Map<string, number>();
  private lastRunningRefresh = 0;

  constructor(
    private readonly head: ClusterReadModel,
    private readonly now: () => number = () => Date.now(),
  ) {}

  onChange(l: (what: 'jobs' | 'nodes', id: string) => void): () => void {
    return this.head.onChange(l);
  }

  onEvent(l: (e: HeadEvent) => void): () => void {
    return this.head.onEvent(l);
  }

  nodeView(n: NodeRecord, leases = this.head.busy(n.id)): NodeView {
    const t = n.telemetry;
    this.busySeen.set(n.id, leases);
    return {
      id: n.id,
      name: n.name,
      instance: n.instance,
      hostname: n.hostname,
      address: preferredAddress(n),
      addresses: n.addresses,
      state: n.state,
      connected: n.connected,
      legacy: n.legacy,
      slots: n.slots,
      busy: Math.min(leases, n.slots),
      leases,
      temp: t.temp ?? null,
      cpu: t.cpu ?? null,
      rate: t.rate ?? null,
      load: t.load ?? null,
      memTotal: t.memTotal ?? null,
      memFree: t.memFree ?? null,
      model: t.model ?? null,
      os: t.os ?? null,
      arch: t.arch ?? null,
      throttled: t.throttled ?? null,
      hot: this.head.isHot(n.id),
      ...this.head.standing(n.id),
      chunksDone: t.chunksDone ?? null,
      uptime: t.uptime ?? null,
      version: n.version,
      joinedAt: n.joinedAt,
      lastSeen: n.lastSeen,
    };
  }

  nodes(ids: Iterable<string>): NodeView[] {
    const out: NodeView[] = [];
    for (const id of ids) {
      const n = this.head.node(id);
      if (n) out.push(this.nodeView(n));
    }
    return out;
  }

  allNodes(): NodeView[] {
    return this.head.nodeList().map((n) => this.nodeView(n, n.busy));
  }

  job(id: string): JobView | null {
    const done = this.finished.get(id);
    if (done) return done;
    let s: JobStatus;
    try {
      s = this.head.status(id);
    } catch {
      return null;
    }
    const view = this.jobView(s);
    if (TERMINAL_STATES.has(s.state)) {
      this.finished.set(id, view);
      this.primeSamples.delete(id);
      if (this.finished.size > FINISHED_CACHE) this.finished.delete(this.finished.keys().next().value as string);
    }
    return view;
  }

  jobs(ids: Iterable<string>): JobView[] {
    const out: JobView[] = [];
    for (const id of ids) {
      const v = this.job(id);
      if (v) out.push(v);
    }
    return out;
  }

  private jobView(s: JobStatus): JobView {
    let hasOutput = false;
    try {
      hasOutput = getTask(s.task).hasOutput(s.params);
    } catch {
      /* a task this head no longer knows */
    }
    const chunk = Number(s.chunk);
    let rate = s.rate;
    if (rate === null && TERMINAL_STATES.has(s.state) && s.startedAt !== null && s.finishedAt !== null && s.finishedAt > s.startedAt) {
      // a finished job: its average over the run
      rate = s.chunks.done / ((s.finishedAt - s.startedAt) / 1000);
    }
    return {
      ...s,
      rate,
      failedChunks: s.failedChunks.slice(0, 20),
      numbersPerSecond: rate === null || s.task === 'life' || s.task === 'noop' ? null : rate * chunk,
      primesPerSecond: s.task === 'primes' ? this.primeRate(s) : null,
      hasOutput,
    };
  }

  private primeRate(s: JobStatus): number | null {
    const raw = s.live['count'];
    if (typeof raw !== 'string' || !/^\d+$/.test(raw)) return null;
    const count = BigInt(raw);
    if (TERMINAL_STATES.has(s.state)) {
      if (s.startedAt === null || s.finishedAt === null || s.finishedAt <= s.startedAt) return null;
      return Number(count) / ((s.finishedAt - s.startedAt) / 1000);
    }
    if (s.state !== 'running') return null;
    const now = this.now();
    const list = this.primeSamples.get(s.id) ?? [];
    this.primeSamples.set(s.id, list);
    const lastSample = list[list.length - 1];
    if (!lastSample || now - lastSample.t >= 250) list.push({ t: now, n: count });
    while (list.length > 2 && now - (list[0] as { t: number }).t > PRIME_RATE_WINDOW_MS) list.shift();
    const first = list[0] as { t: number; n: bigint };
    const dt = (now - first.t) / 1000;
    if (dt >= 0.5) return Number(count - first.n) / dt;
    if (s.startedAt !== null && now > s.startedAt) return Number(count) / ((now - s.startedAt) / 1000);
    return null;
  }

  /** Unfinished jobs first (newest first), then the most recent finished ones. */
  private jobIdsForSnapshot(): string[] {
    const all: JobRecord[] = this.head.listJobs();
    all.sort((a, b) => b.seq - a.seq);
    const active = all.filter((j) => !TERMINAL_STATES.has(j.state));
    const ended = all.filter((j) => TERMINAL_STATES.has(j.state)).slice(0, SNAPSHOT_FINISHED_JOBS);
    return [...active, ...ended].map((j) => j.id);
  }

  snapshot(): Snapshot {
    return {
      now: this.now(),
      head: this.head.headId,
      staleMs: this.head.staleMs,
      lostMs: this.head.lostMs,
      nodes: this.allNodes(),
      jobs: this.jobs(this.jobIdsForSnapshot()),
      events: this.head.recentEvents(SNAPSHOT_EVENTS),
    };
  }

  /**
   * What changed without an event: nodes whose number of leases moved (leases are given and
   * returned without a node event) and, once a second, running jobs (rate, ETA).
   */
  changedWithoutEvent(): { nodes: string[]; jobs: string[] } {
    const nodes: string[] = [];
    for (const n of this.head.nodeList()) {
      if (n.state === 'gone') continue;
      if (this.busySeen.get(n.id) !== n.busy) nodes.push(n.id);
    }
    const jobs: string[] = [];
    const now = this.now();
    if (now - this.lastRunningRefresh >= RUNNING_REFRESH_MS) {
      this.lastRunningRefresh = now;
      for (const j of this.head.activeJobs()) if (j.state === 'running') jobs.push(j.id);
    }
    return { nodes, jobs };
  }
}
