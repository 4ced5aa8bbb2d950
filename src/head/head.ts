import { randomBytes } from 'node:crypto';
import type { Writable } from 'node:stream';
import type { Logger } from 'pino';
import type { JobRecord, Journal, Lease, LedgerEvent, Submitted } from '../core/index.js';
import { Ledger, MAX_STRIKES, NotFoundError, systemClock } from '../core/index.js';
import type { Clock } from '../core/index.js';
import os from 'node:os';
import path from 'node:path';
import type { JobInput, Task } from '../tasks/index.js';
import { findTask } from '../tasks/index.js';
import type { FrameServer, LinkEnd, Pending } from '../net/index.js';
import { localLinkPair } from '../net/index.js';
import type { Message } from '../protocol/index.js';
import type { ClusterReadModel, CompatHost, HeadCounters, HeadEvent, JobStatus, LedgerCounters, NodeLoad, NodeRecord } from '../ports/index.js';
import { HmacLeaseSigner } from '../trust/index.js';
import { ExecRelay } from './exec-relay.js';
import type { CodeStore } from './code-store.js';
import { HeadEvents } from './head-events.js';
import { JobReports } from './job-reports.js';
import { LifeCoordinator } from './life-coordinator.js';
import { NodeRegistry } from './nodes.js';
import { ResultBatcher } from './result-batcher.js';
import type { HeadSettingsValues } from './settings.js';
import { WorkerSessions } from './worker-sessions.js';

export type { HeadEvent, JobStatus } from '../ports/index.js';

export interface HeadOptions {
  /** The durable ledger: injected (SqliteJournal by the composition root, MemoryJournal in tests, later EtcdJournal). */
  journal: Journal;
  leaseKey: string;
  logger: Logger;
  settings: Pick<HeadSettingsValues, 'leaseMs' | 'staleMs' | 'lostMs' | 'telemetryMs' | 'hotTemp' | 'hotSlots'>;
  /** Cluster secret workers must prove (read at each handshake, so a rotation takes effect at once); null only with --insecure. */
  secret: (() => string) | null;
  /** Builds the worker port around the head's accept (the root owns its address, TLS and limits); none in unit tests. */
  server?: (accept: (p: Pending) => void) => FrameServer;
  clock?: Clock;
  speculate?: boolean;
  /** The journal cannot commit: the head acknowledges nothing more; the root turns this into an exit code. */
  onFatal?: (err: unknown) => void;
  /** Users' code by hash (issue 12) and the public key of the key that signs it. */
  code?: CodeStore;
  codeKey?: string;
  /** HA: checked before every lease hand-out (the election's isLeader, by the head's own clock). */
  mayLease?: () => boolean;
  /** HA: the leadership's epoch (fencing token), told to workers in `welcome`. */
  epoch?: bigint;
  /** Where distributed Life jobs keep their checkpoints (the root: DATA/life; default: a temp dir). */
  lifeDir?: string;
}

/** Why a job that needs an opt-in waits, by what it needs. */
const WAITING: Record<string, string> = {
  module: 'waiting: no connected worker runs task modules (start workers with --allow-code)',
  exec: 'waiting: no connected worker runs commands (start workers with --allow-exec)',
};

/**
 * The head as one object for the HTTP API, the CLI and the apps' ports: a facade over the ledger,
 * the worker sessions (worker-sessions.ts), the group commit (result-batcher.ts) and the job reports
 * (job-reports.ts). It builds nothing that does I/O but through what it is given.
 */
export class Head implements ClusterReadModel, CompatHost {
  readonly clock: Clock;
  readonly journal: Journal;
  readonly ledger: Ledger;
  readonly nodes: NodeRegistry;
  readonly log: Logger;
  readonly sessions: WorkerSessions;
  readonly batcher: ResultBatcher;
  readonly reports: JobReports;
  readonly bus: HeadEvents;
  /** Remote commands (`bramble agent`, `bramble mpirun`) relayed to workers that allow them. */
  readonly exec: ExecRelay;
  /** Distributed Life jobs: strips over the workers, halos relayed here, checkpoints on disk. */
  readonly life: LifeCoordinator;
  readonly headId = randomBytes(6).toString('hex');
  readonly counters: HeadCounters = { resultsIn: 0, badMessages: 0, authFailures: 0, assignFrames: 0, ackFrames: 0 };
  readonly leaseMs: number;
  readonly code: CodeStore | null;
  private readonly server: FrameServer | null;
  private readonly onFatal?: (err: unknown) => void;
  private timers: NodeJS.Timeout[] = [];

  constructor(o: HeadOptions) {
    this.clock = o.clock ?? systemClock;
    this.log = o.logger;
    this.leaseMs = o.settings.leaseMs;
    this.journal = o.journal;
    this.code = o.code ?? null;
    this.onFatal = o.onFatal;
    this.bus = new HeadEvents(this.clock, this.log);
    this.ledger = new Ledger({ clock: this.clock, journal: this.journal, signer: new HmacLeaseSigner(o.leaseKey), leaseMs: this.leaseMs, speculate: o.speculate ?? true });
    this.nodes = new NodeRegistry({ clock: this.clock, staleMs: o.settings.staleMs, lostMs: o.settings.lostMs });
    this.batcher = new ResultBatcher({
      ledger: this.ledger,
      counters: this.counters,
      warn: (msg) => this.event('warn', 'result', msg),
      nodeName: (id) => this.nodeName(id),
      committed: () => this.scheduleDispatch(),
      fatal: (err) => {
        this.log.fatal({ err }, 'journal commit failed; stopping the head (restart it to resume)');
        o.onFatal?.(err);
      },
    });
    this.exec = new ExecRelay({ nodes: this.nodes, events: this.bus, now: () => this.clock.now(), sendToWorker: (id, msg) => this.sessions.sendToWorker(id, msg) });
    this.sessions = new WorkerSessions({
      exec: this.exec,
      headId: this.headId,
      clock: this.clock,
      ledger: this.ledger,
      nodes: this.nodes,
      events: this.bus,
      batcher: () => this.batcher,
      counters: this.counters,
      secret: o.secret,
      leaseMs: this.leaseMs,
      telemetryMs: o.settings.telemetryMs,
      hotTemp: o.settings.hotTemp,
      hotSlots: o.settings.hotSlots,
      ...(o.code ? { code: (hash: string) => o.code!.get(hash), codeKey: o.codeKey, codeServed: (bytes: number) => void ((o.code!.stats.served++, (o.code!.stats.servedBytes += bytes))) } : {}),
      mayLease: o.mayLease,
      epoch: o.epoch,
      reserved: (job) => this.life.owns(job),
    });
    this.reports = new JobReports({ clock: this.clock, ledger: this.ledger, journal: this.journal, events: this.bus, slots: () => this.sessions.slotCount() });
    this.life = new LifeCoordinator({
      clock: this.clock,
      ledger: this.ledger,
      events: this.bus,
      batcher: () => this.batcher,
      links: this.sessions.lifeLinks,
      dir: o.lifeDir ?? path.join(os.tmpdir(), `bramble-life-${this.headId}`),
    });
    this.sessions.life = this.life;
    this.nodes.on((n) => this.bus.changed('nodes', n.id));
    this.ledger.on((e) => this.onLedger(e));
    this.server = o.server ? o.server((p) => this.sessions.accept(p)) : null;
  }

  get port(): number {
    return this.server?.port ?? 0;
  }

  /**
   * A worker in this process (`bramble run`): one end of an in-process link goes through the same
   * handshake (challenge, hello with its proof of the secret, welcome), leases, results and leave as a
   * worker over TLS; the other end is returned for the worker agent. No socket, no encoding.
   */
  acceptLocal(check: ((m: Message) => Message) | null = null): LinkEnd {
    const { head, worker } = localLinkPair(randomBytes(32), check);
    this.sessions.accept({ ...head, authenticated: () => undefined });
    return worker;
  }

  get pendingConnections(): number {
    return this.server?.pendingCount ?? 0;
  }

  get serverStats(): FrameServer['stats'] | null {
    return this.server?.stats ?? null;
  }

  async start(): Promise<void> {
    await this.server?.listen();
    const tick = setInterval(() => {
      try {
        this.tick();
      } catch (err) {
        // expiry writes failures to the journal: one that cannot be written stops this head as a commit would
        this.log.fatal({ err }, 'journal write failed in the lease tick');
        for (const t of this.timers) clearInterval(t);
        this.onFatal?.(err);
      }
    }, Math.min(1000, Math.max(50, this.leaseMs / 4)));
    tick.unref();
    this.timers.push(tick);
    const active = this.ledger.activeJobs();
    if (active.length > 0) this.event('info', 'head', `resumed ${active.length} unfinished job(s): ${active.map((j) => j.id).join(', ')}`);
  }

  /** Expires leases, marks silent nodes, refills windows (on a timer; tests call it with a manual clock). */
  tick(): void {
    this.life.tick();
    this.ledger.expire();
    for (const n of this.nodes.sweep()) this.event('warn', 'node', `node ${n.name} is ${n.state}: no report for ${((this.clock.now() - n.lastSeen) / 1000).toFixed(0)} s`);
    this.scheduleDispatch();
  }

  /** Stops the worker port and waits for the commit in flight; the journal belongs to the root. */
  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    await this.server?.close();
    await Promise.race([this.batcher.settled(), new Promise((r) => setTimeout(r, 2000).unref())]);
  }

  // ---- events ----

  get events(): HeadEvent[] {
    return this.bus.events;
  }

  event(level: HeadEvent['level'], kind: string, msg: string, extra: Record<string, unknown> = {}): void {
    this.bus.event(level, kind, msg, extra);
  }

  onEvent(l: (e: HeadEvent) => void): () => void {
    return this.bus.onEvent(l);
  }

  onChange(l: (what: 'jobs' | 'nodes', id: string) => void): () => void {
    return this.bus.onChange(l);
  }

  recentEvents(n: number): HeadEvent[] {
    return this.bus.events.slice(-n);
  }

  private onLedger(e: LedgerEvent): void {
    switch (e.type) {
      case 'job-state': {
        const j = e.job;
        this.event(j.state === 'failed' ? 'warn' : 'info', 'job', `job ${j.id} (${j.task}) ${e.from} -> ${j.state}${j.error ? `: ${j.error}` : ''}`, { job: j.id, state: j.state });
        this.reports.onLedger(e);
        this.life.onLedger(e);
        this.bus.changed('jobs', j.id);
        break;
      }
      case 'lease-expired':
        this.event('warn', 'lease', `lease of job ${e.lease.jobId} chunk ${e.lease.index} expired (worker ${this.nodeName(e.lease.worker)})`);
        this.scheduleDispatch();
        break;
      case 'chunk-failed':
        this.event('warn', 'chunk', `job ${e.jobId} chunk ${e.index} failed on ${this.nodeName(e.worker)} (attempt ${e.attempts}): ${e.error}`);
        this.scheduleDispatch();
        break;
      case 'chunk-quarantined':
        this.event('error', 'chunk', `job ${e.jobId} chunk ${e.index} quarantined: ${e.error}`);
        break;
      case 'revoke':
        this.sessions.revoke(e.worker, e.tokens);
        break;
      case 'chunk-done':
        this.reports.onLedger(e);
        this.bus.changed('jobs', e.jobId);
        break;
      case 'disagreement':
        this.event('error', 'verify', `${this.nodeName(e.worker)} was outvoted on job ${e.jobId} chunk ${e.index} by ${e.majority.map((w) => this.nodeName(w)).join(', ')}: marked suspect (strike ${e.strikes}${e.strikes >= MAX_STRIKES ? `; no more work until \`bramble node clear ${this.nodeName(e.worker)}\`` : ''})`, { node: e.worker, job: e.jobId });
        this.bus.changed('nodes', e.worker);
        break;
    }
  }

  /** `bramble node clear`: forgets a node's strikes (by id or name); false when it had none. */
  clearNode(idOrName: string): boolean {
    const n = this.nodes.get(idOrName) ?? this.nodes.list().find((x) => x.name === idOrName);
    if (!n) throw new NotFoundError(`no node ${idOrName}`);
    const had = this.ledger.clearWorker(n.id);
    if (had) this.event('info', 'verify', `${n.name} cleared: it gets work again`);
    this.bus.changed('nodes', n.id);
    this.scheduleDispatch();
    return had;
  }

  private nodeName(id: string): string {
    return this.nodes.get(id)?.name ?? id;
  }

  // ---- workers ----

  scheduleDispatch(): void {
    this.sessions.scheduleDispatch();
  }

  /** Chunks it holds, plus remote commands (an MPI run's daemon) running on it: its tile shows it busy. */
  busy(id: string): number {
    return this.sessions.busy(id) + this.exec.runningOn(id);
  }

  isHot(id: string): boolean {
    return this.sessions.isHot(id);
  }

  connectedWorkers(): number {
    return this.sessions.connectedWorkers();
  }

  latencyPercentiles(): { p50: number | null; p99: number | null; samples: number } {
    return this.sessions.latencyPercentiles();
  }

  get staleMs(): number {
    return this.nodes.staleMs;
  }

  get lostMs(): number {
    return this.nodes.lostMs;
  }

  node(id: string): NodeRecord | undefined {
    return this.nodes.get(id);
  }

  /** Nodes with `busy`: the chunks each holds now, queued or running (results on their way to the journal are done). */
  nodeList(): NodeLoad[] {
    return this.nodes.list().map((n) => ({ ...n, busy: this.busy(n.id), hot: this.isHot(n.id), ...this.ledger.standing(n.id) }));
  }

  standing(id: string): { suspect: boolean; strikes: number; barred: boolean } {
    return this.ledger.standing(id);
  }

  nodeLeases(id: string): Lease[] {
    return this.ledger.leasesOf(id);
  }

  legacyReport(address: string, remote: string, temp: number): void {
    this.nodes.legacyReport(address, remote, temp);
  }

  // ---- jobs ----

  submit(input: JobInput, id?: string): JobRecord {
    return this.submitOnce(input, id).job;
  }

  /** Submit with an id, idempotently (JobReports.submit): says whether the job was already there. */
  submitOnce(input: JobInput, id?: string): Submitted {
    // a Life job: checked against the workers' memory, its pattern stored once and referenced by hash
    const life = findTask(input.task)?.coordinator === 'life-strips';
    const job = life ? this.life.admit(input) : input;
    let s: Submitted;
    try {
      s = this.reports.submit(job, id);
    } finally {
      // a pattern stored for a submit that made no new job (refused, or answered with the existing one)
      if (life) this.life.releasePattern(job);
    }
    if (!s.existing) {
      if (this.life.owns(s.job)) this.life.adopt(s.job);
      this.scheduleDispatch();
    }
    return s;
  }

  cancel(id: string): JobRecord {
    const job = this.ledger.cancel(id);
    this.scheduleDispatch();
    return job;
  }

  status(id: string): JobStatus {
    const st = this.withWaiting(this.reports.status(id));
    const life = this.life.describe(id, (n) => this.nodeName(n));
    return life ? { ...st, ...life, live: { ...st.live, ...(life['population'] !== null && life['population'] !== undefined ? { population: String(life['population']) } : {}), generation: life['generation'] } } : st;
  }

  /** A job that needs an opt-in no connected worker gave says so (`status`, the dashboard). */
  private withWaiting(st: JobStatus): JobStatus {
    if (st.state !== 'queued' && st.state !== 'running') return st;
    const need = findTask(st.task)?.needs;
    if (!need || this.sessions.anyRuns(need)) return st;
    return { ...st, waiting: WAITING[need] ?? `waiting: no connected worker runs ${need}` };
  }

  /** The live view of a distributed Life job (density map, strips, populations); null for other jobs. */
  lifeFrame(id: string): Record<string, unknown> | null {
    return this.life.frame(id, (n) => this.nodeName(n));
  }

  result(id: string): Record<string, unknown> {
    return this.reports.result(id);
  }

  checkOutput(id: string): { job: JobRecord; task: Task } {
    return this.reports.checkOutput(id);
  }

  async writeOutput(id: string, out: Writable): Promise<void> {
    if (this.life.ownsId(id)) return this.life.writeOutput(this.reports.checkOutput(id).job, out);
    return this.reports.writeOutput(id, out);
  }

  chunkMap(id: string, cells = 4096): { total: number; cells: number[][] } {
    return this.reports.chunkMap(id, cells);
  }

  jobs(): JobStatus[] {
    return this.reports.jobs().map((st) => this.withWaiting(st));
  }

  getJob(id: string): JobRecord {
    return this.ledger.getJob(id);
  }

  listJobs(): JobRecord[] {
    return this.ledger.listJobs();
  }

  activeJobs(): JobRecord[] {
    return this.ledger.activeJobs();
  }

  counts(id: string): JobStatus['chunks'] {
    return this.ledger.counts(id);
  }

  get ledgerStats(): LedgerCounters {
    return this.ledger.stats;
  }
}
