import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { Logger } from 'pino';
import type { Assignment, JobRecord, Lease, LedgerEvent, ResultInput, ResultOutcome } from '../core/index.js';
import { BrambleError, ConflictError, InputError, Ledger, RepeatLimiter, TERMINAL_STATES, spanBounds, systemClock } from '../core/index.js';
import type { Clock } from '../core/index.js';
import type { JobInput, Live, Task } from '../tasks/index.js';
import { getTask, planJob } from '../tasks/index.js';
import type { FramedConnection, Pending } from '../net/index.js';
import { FrameServer } from '../net/index.js';
import type { Message, MessageOf } from '../protocol/index.js';
import { ErrorCode, PROTOCOL_VERSION, ProtocolError } from '../protocol/index.js';
import { SqliteJournal } from '../storage/index.js';
import { HmacLeaseSigner, checkProof, newNonce } from '../trust/index.js';
import type { NodeRecord } from './nodes.js';
import { NodeRegistry } from './nodes.js';

export interface HeadOptions {
  dataDir: string;
  bind: string;
  port: number;
  /** TLS material; null only with --insecure. */
  tls: { certChainPem: string; keyPem: string } | null;
  /** Cluster secret workers must prove (read at each handshake, so a rotation takes effect at once); null only with --insecure. */
  secret: (() => string) | null;
  leaseKey: string;
  logger: Logger;
  clock?: Clock;
  leaseMs?: number;
  heartbeatMs?: number;
  telemetryMs?: number;
  maxFrameBytes?: number;
  authTimeoutMs?: number;
  maxPending?: number;
  /** Pre-authentication cap per source address, and connections held in all (see net/server.ts). */
  maxPendingPerAddress?: number;
  maxConnections?: number;
  staleMs?: number;
  lostMs?: number;
  speculate?: boolean;
  /** A node at or above this CPU temperature (°C), or reporting throttling, gets at most `hotSlots` chunks at once. */
  hotTemp?: number;
  hotSlots?: number;
}

/**
 * Flow control is a window, as TCP's: a worker says once (in `want`) how many chunks it can hold,
 * queued and running; the head keeps it topped up. A result frees its place the moment it arrives
 * (before the commit, which only delays the ack), so results and assigns cross without a `want` each.
 */
interface Peer {
  conn: FramedConnection;
  node: string | null;
  /** Chunks this worker can hold at once (its last `want`). */
  window: number;
  slots: number;
  /** Results received from it and not yet acknowledged: their leases are still in the ledger, but the places are free. */
  inHand: number;
  /** Since when it has had free places while work was waiting (for the want -> assign latency figure). */
  wantAt: bigint | null;
  lastServed: number;
  draining: boolean;
}

interface JobLive {
  live: Live;
  samples: { t: number; done: number }[];
}

export interface JobStatus {
  id: string;
  task: string;
  state: JobRecord['state'];
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
}

/** Every event worth showing: the log stream of the dashboard and the head's own logs. */
export interface HeadEvent {
  t: number;
  level: 'info' | 'warn' | 'error';
  kind: string;
  msg: string;
}

/**
 * The head: chunk ledger on an SQLite journal, the worker port, the node registry. Composition
 * root of the head process (the HTTP API sits on top of it).
 */
export class Head {
  readonly clock: Clock;
  readonly journal: SqliteJournal;
  readonly ledger: Ledger;
  readonly nodes: NodeRegistry;
  readonly log: Logger;
  private server: FrameServer;
  /** Refused handshakes are logged at most 5 a minute per address. */
  private readonly authLogLimit = new RepeatLimiter({ burst: 5, windowMs: 60_000 });
  private readonly peers = new Map<string, Peer>();
  private readonly conns = new Set<Peer>();
  private readonly jobLive = new Map<string, JobLive>();
  private pendingResults: { peer: Peer; input: ResultInput }[] = [];
  private flushScheduled = false;
  /** One commit in flight at a time: results arriving meanwhile form the next batch (group commit). */
  private committing = false;
  private dispatchScheduled = false;
  private timers: NodeJS.Timeout[] = [];
  readonly headId = randomBytes(6).toString('hex');
  readonly events: HeadEvent[] = [];
  private readonly eventListeners = new Set<(e: HeadEvent) => void>();
  private readonly changeListeners = new Set<(what: 'jobs' | 'nodes', id: string) => void>();
  readonly counters = { resultsIn: 0, badMessages: 0, authFailures: 0, assignFrames: 0, ackFrames: 0 };
  /** Recent times (ms) from a `want` that found work waiting to the `assign` that answered it. */
  readonly assignLatency: number[] = [];

  latencyPercentiles(): { p50: number | null; p99: number | null; samples: number } {
    const s = [...this.assignLatency].sort((a, b) => a - b);
    const at = (q: number): number | null => (s.length ? (s[Math.min(s.length - 1, Math.floor(q * s.length))] as number) : null);
    return { p50: at(0.5), p99: at(0.99), samples: s.length };
  }
  readonly leaseMs: number;

  constructor(private readonly o: HeadOptions) {
    this.clock = o.clock ?? systemClock;
    this.log = o.logger;
    this.leaseMs = o.leaseMs ?? 30_000;
    this.journal = new SqliteJournal(path.join(o.dataDir, 'bramble.db'));
    this.ledger = new Ledger({
      clock: this.clock,
      journal: this.journal,
      signer: new HmacLeaseSigner(o.leaseKey),
      leaseMs: this.leaseMs,
      speculate: o.speculate ?? true,
    });
    this.nodes = new NodeRegistry({ clock: this.clock, staleMs: o.staleMs, lostMs: o.lostMs });
    this.nodes.on((n) => this.changed('nodes', n.id));
    this.ledger.on((e) => this.onLedger(e));
    this.server = new FrameServer(
      { host: o.bind, port: o.port, tls: o.tls, maxFrameBytes: o.maxFrameBytes, authTimeoutMs: o.authTimeoutMs, maxPending: o.maxPending, maxPendingPerAddress: o.maxPendingPerAddress, maxConnections: o.maxConnections },
      (p) => this.onConnection(p),
    );
    for (const job of this.ledger.activeJobs()) this.rebuildLive(job);
  }

  get port(): number {
    return this.server.port;
  }

  get pendingConnections(): number {
    return this.server.pendingCount;
  }

  get serverStats(): FrameServer['stats'] {
    return this.server.stats;
  }

  async start(): Promise<void> {
    await this.server.listen();
    const tick = setInterval(() => {
      this.ledger.expire();
      for (const n of this.nodes.sweep()) this.event('warn', 'node', `node ${n.name} is ${n.state}: no report for ${((this.clock.now() - n.lastSeen) / 1000).toFixed(0)} s`);
      this.scheduleDispatch();
    }, Math.min(1000, Math.max(50, this.leaseMs / 4)));
    tick.unref();
    this.timers.push(tick);
    const active = this.ledger.activeJobs();
    if (active.length > 0) this.event('info', 'head', `resumed ${active.length} unfinished job(s): ${active.map((j) => j.id).join(', ')}`);
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    await this.server.close();
    for (let i = 0; i < 200 && this.committing; i++) await new Promise((r) => setTimeout(r, 10));
    this.journal.close();
  }

  // ---- events ----

  event(level: HeadEvent['level'], kind: string, msg: string, extra: Record<string, unknown> = {}): void {
    const e: HeadEvent = { t: this.clock.now(), level, kind, msg };
    this.events.push(e);
    if (this.events.length > 1000) this.events.splice(0, this.events.length - 1000);
    this.log[level]({ kind, ...extra }, msg);
    for (const l of this.eventListeners) l(e);
  }

  onEvent(l: (e: HeadEvent) => void): () => void {
    this.eventListeners.add(l);
    return () => this.eventListeners.delete(l);
  }

  onChange(l: (what: 'jobs' | 'nodes', id: string) => void): () => void {
    this.changeListeners.add(l);
    return () => this.changeListeners.delete(l);
  }

  private changed(what: 'jobs' | 'nodes', id: string): void {
    for (const l of this.changeListeners) l(what, id);
  }

  private onLedger(e: LedgerEvent): void {
    switch (e.type) {
      case 'job-state': {
        const j = e.job;
        const level = j.state === 'failed' ? 'warn' : 'info';
        this.event(level, 'job', `job ${j.id} (${j.task}) ${e.from} -> ${j.state}${j.error ? `: ${j.error}` : ''}`, { job: j.id, state: j.state });
        if (j.state === 'done' || j.state === 'failed') this.finalSummary(j.id);
        if (j.state === 'done' || j.state === 'failed' || j.state === 'cancelled') setTimeout(() => this.jobLive.delete(j.id), 60_000).unref();
        this.changed('jobs', j.id);
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
      case 'revoke': {
        const peer = this.peers.get(e.worker);
        peer?.conn.send({ type: 'cancel', tokens: e.tokens });
        break;
      }
      case 'chunk-done': {
        const jl = this.liveOf(e.jobId);
        jl?.live.add(e.summary as Record<string, unknown>);
        this.changed('jobs', e.jobId);
        break;
      }
    }
  }

  private nodeName(id: string): string {
    return this.nodes.get(id)?.name ?? id;
  }

  // ---- workers ----

  private onConnection(p: Pending): void {
    const peer: Peer = { conn: p.conn, node: null, window: 0, slots: 1, inHand: 0, wantAt: null, lastServed: 0, draining: false };
    this.conns.add(peer);
    const nonce = newNonce();
    p.conn.send({ type: 'challenge', nonce, head: this.headId });
    p.conn.on('message', (msg) => {
      try {
        if (peer.node === null) this.onHello(peer, p, nonce, msg);
        else this.onWorkerMessage(peer, msg);
      } catch (err) {
        this.counters.badMessages++;
        p.conn.fail(err instanceof BrambleError ? err : new ProtocolError(ErrorCode.Internal, (err as Error).message));
      }
    });
    p.conn.on('close', (err) => {
      this.conns.delete(peer);
      if (err instanceof ProtocolError && err.code !== 'TIMEOUT') this.counters.badMessages++;
      if (peer.node === null) return;
      const id = peer.node;
      if (this.peers.get(id) !== peer) return;
      this.peers.delete(id);
      const released = this.ledger.releaseWorker(id, peer.draining ? 'drained' : 'lost');
      this.nodes.setState(id, peer.draining ? 'gone' : 'stale', false);
      this.event(peer.draining ? 'info' : 'warn', 'node', `node ${this.nodeName(id)} left${peer.draining ? ' (drained)' : ''}${released.length ? `; ${released.length} lease(s) returned` : ''}${err && !peer.draining ? `: ${err.message}` : ''}`);
      this.scheduleDispatch();
    });
  }

  private onHello(peer: Peer, p: Pending, nonce: string, msg: Message): void {
    if (msg.type !== 'hello') throw new ProtocolError(ErrorCode.Unexpected, `expected hello, got ${msg.type}`);
    if (msg.version !== PROTOCOL_VERSION) {
      throw new ProtocolError(ErrorCode.Version, `worker speaks protocol ${msg.version}, this head speaks ${PROTOCOL_VERSION}: install the same bramble version`);
    }
    if (this.o.secret !== null) {
      if (!msg.proof || !checkProof(this.o.secret(), nonce, msg.node, p.binding, msg.proof)) {
        this.counters.authFailures++;
        const suppressed = this.authLogLimit.allow(p.conn.remoteAddress);
        if (suppressed !== null) this.event('warn', 'auth', `refused a worker from ${p.conn.remoteAddress}: wrong join token${suppressed ? ` (${suppressed} more refused before, not logged)` : ''}`);
        throw new ProtocolError(ErrorCode.Auth, 'authentication failed: the join token is wrong or was rotated out (`bramble token` prints the current one)');
      }
    }
    p.authenticated();
    const old = this.peers.get(msg.node);
    if (old && old !== peer) {
      // the same worker reconnected before we noticed its old socket died
      old.conn.close({ code: 'REPLACED', message: 'replaced by a newer connection of the same worker' });
      this.peers.delete(msg.node);
      this.ledger.releaseWorker(msg.node, 'drained');
    }
    peer.node = msg.node;
    peer.slots = msg.slots;
    this.peers.set(msg.node, peer);
    this.ledger.registerWorker(msg.node, msg.slots);
    const { type: _t, version: _v, node, name, instance, hostname, addresses, slots, kernels, pid, version_text, proof: _p, ...telemetry } = msg;
    this.nodes.join({ id: node, name, instance, hostname, addresses, remote: p.conn.remoteAddress, slots, kernels, pid, version: version_text ?? null, legacy: false, telemetry });
    this.event('info', 'node', `node ${name} joined from ${p.conn.remoteAddress} with ${slots} slot(s)`, { node });
    peer.conn.send({
      type: 'welcome',
      version: PROTOCOL_VERSION,
      head: this.headId,
      leaseMs: this.leaseMs,
      heartbeatMs: Math.max(20, Math.floor(this.leaseMs / 3)),
      telemetryMs: this.o.telemetryMs ?? 5000,
    });
  }

  private onWorkerMessage(peer: Peer, msg: Message): void {
    const node = peer.node as string;
    switch (msg.type) {
      case 'want':
        peer.window = peer.draining ? 0 : msg.n;
        this.topUp(peer);
        break;
      case 'heartbeat': {
        const stale = this.ledger.heartbeat(node, msg.tokens);
        this.nodes.report(node, {});
        // leases it still runs that were given to others or ended: tell it to stop them (a worker lists
        // only chunks it has not answered, so none of these has a result on its way)
        if (stale.length > 0) peer.conn.send({ type: 'cancel', tokens: stale });
        break;
      }
      case 'telemetry': {
        const { type: _t, ...t } = msg;
        this.nodes.report(node, t);
        break;
      }
      case 'result':
        this.counters.resultsIn++;
        this.pendingResults.push({
          peer,
          input: { token: msg.token, jobId: msg.job, index: msg.index, span: msg.span ?? 1, worker: node, summary: msg.summary, output: msg.output ?? null, ms: msg.ms },
        });
        this.scheduleFlush();
        peer.inHand++;
        this.topUp(peer);
        break;
      case 'fail':
        this.ledger.fail(node, msg.token, msg.error);
        this.topUp(peer);
        break;
      case 'drain':
        peer.draining = true;
        peer.window = 0;
        this.nodes.setState(node, 'draining');
        this.event('info', 'node', `node ${this.nodeName(node)} is draining`);
        break;
      default:
        throw new ProtocolError(ErrorCode.Unexpected, `unexpected ${msg.type} message from a worker`);
    }
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.committing) return;
    this.flushScheduled = true;
    setImmediate(() => this.flushResults());
  }

  /** Validates, commits (one transaction for the batch) and only then acknowledges results. */
  private flushResults(): void {
    this.flushScheduled = false;
    if (this.committing) return;
    const batch = this.pendingResults;
    this.pendingResults = [];
    if (batch.length === 0) return;
    const good: { peer: Peer; input: ResultInput }[] = [];
    for (const item of batch) {
      const { input, peer } = item;
      let job: JobRecord;
      try {
        job = this.ledger.getJob(input.jobId);
      } catch {
        peer.inHand--;
        peer.conn.send({ type: 'ack', tokens: [input.token] });
        continue;
      }
      if (input.index + input.span > job.chunks) {
        this.counters.badMessages++;
        peer.conn.fail(new ProtocolError(ErrorCode.BadMessage, `result for chunks ${input.index}..${input.index + input.span - 1} of job ${job.id}, which has ${job.chunks} chunks`));
        continue;
      }
      try {
        const b = spanBounds(job, input.index, input.span);
        const task = getTask(job.task);
        input.summary = task.checkSummary(input.summary, b.start, b.end);
        if (input.output && !task.hasOutput(job.params)) input.output = null;
      } catch (err) {
        this.counters.badMessages++;
        this.event('warn', 'result', `rejected a result from ${this.nodeName(input.worker)} for job ${job.id} chunk ${input.index}: ${(err as Error).message}`);
        // the fault is the worker's, not the chunk's: its leases return uncounted (three liars must not
        // quarantine an honest chunk and fail the job), and it is disconnected
        this.ledger.releaseWorker(input.worker, 'drained');
        peer.conn.fail(new ProtocolError(ErrorCode.BadMessage, (err as Error).message));
        continue;
      }
      good.push(item);
    }
    if (good.length === 0) return;
    this.committing = true;
    this.ledger.completeAsync(good.map((g) => g.input)).then(
      (outcomes) => {
        this.committing = false;
        this.acknowledge(good, outcomes);
        if (this.pendingResults.length > 0) this.scheduleFlush();
      },
      (err: unknown) => {
        // the journal cannot commit: stop rather than acknowledge what is not durable
        this.log.fatal({ err }, 'journal commit failed; stopping the head (restart it to resume)');
        process.exit(70);
      },
    );
  }

  private acknowledge(good: { peer: Peer; input: ResultInput }[], outcomes: ResultOutcome[]): void {
    const acks = new Map<Peer, string[]>();
    good.forEach((g, k) => {
      if (outcomes[k] === 'duplicate') this.log.debug({ job: g.input.jobId, chunk: g.input.index }, 'duplicate result dropped');
      const list = acks.get(g.peer) ?? [];
      list.push(g.input.token);
      acks.set(g.peer, list);
    });
    for (const [peer, tokens] of acks) {
      peer.inHand -= tokens.length;
      peer.conn.send({ type: 'ack', tokens });
      this.counters.ackFrames++;
    }
    // the accepted results' leases are gone now; a place freed by a duplicate was lent ahead and is
    // returned here, so the sum is right again
    this.scheduleDispatch();
  }

  scheduleDispatch(): void {
    if (this.dispatchScheduled) return;
    this.dispatchScheduled = true;
    setImmediate(() => {
      this.dispatchScheduled = false;
      this.dispatch();
    });
  }

  /** Chunks a node holds now, queued or running: its leases but those whose result is on its way to the journal. */
  busy(id: string): number {
    return this.ledger.heldBy(id) - (this.peers.get(id)?.inHand ?? 0);
  }

  /** Free places of a worker's window (a hot node's window shrinks to --hot-slots). */
  private freePlaces(peer: Peer): number {
    if (peer.draining || !peer.conn.isOpen || peer.node === null) return 0;
    const window = this.isHot(peer.node) ? Math.min(peer.window, this.o.hotSlots ?? 1) : peer.window;
    return window - this.busy(peer.node);
  }

  /**
   * Places are refilled in batches of a quarter of a large window (fewer, larger assigns when chunks
   * are tiny and a worker holds many); a small window (slots plus a little prefetch) at once; and never
   * later than the moment a slot would go idle.
   */
  private lowWater(peer: Peer): number {
    return Math.max(1, Math.min(peer.window >> 2, peer.window - peer.slots + 1));
  }

  private readonly deferred = new Set<Peer>();

  /**
   * Refills this worker's window if a batch of places is free and work is waiting: at once when the
   * batch is a quarter of a large window; for a small window (refilled place by place), at the end of
   * the read, so the results that arrived together are answered by one assign.
   */
  private topUp(peer: Peer): void {
    const lowWater = this.lowWater(peer);
    if (this.freePlaces(peer) < lowWater || !this.ledger.hasWork()) return;
    peer.wantAt ??= process.hrtime.bigint();
    if (lowWater > 1) {
      this.serve(peer);
      return;
    }
    this.deferred.add(peer);
    if (this.deferred.size === 1) {
      process.nextTick(() => {
        const peers = [...this.deferred];
        this.deferred.clear();
        this.dispatch(peers);
      });
    }
  }

  /** Hands chunks to workers with free places, least recently served first. */
  private dispatch(only?: Peer[]): void {
    const candidates = only ?? [...this.peers.values()];
    const work = this.ledger.hasWork();
    const now = work ? process.hrtime.bigint() : 0n;
    const wanting: Peer[] = [];
    for (const peer of candidates) {
      if (this.freePlaces(peer) >= this.lowWater(peer)) {
        if (work) {
          peer.wantAt ??= now;
          wanting.push(peer);
        }
      } else peer.wantAt = null;
    }
    if (wanting.length > 1) wanting.sort((a, b) => a.lastServed - b.lastServed);
    for (const peer of wanting) this.serve(peer);
  }

  /** Leases this worker's free places and sends them in one assign. */
  private serve(peer: Peer): void {
    const chunks = this.ledger.lease(peer.node as string, this.freePlaces(peer));
    if (chunks.length === 0) return;
    peer.lastServed = this.clock.now();
    peer.conn.send({ type: 'assign', chunks: chunks.map(wireChunk) });
    this.counters.assignFrames++;
    if (peer.wantAt !== null) {
      this.assignLatency.push(Number(process.hrtime.bigint() - peer.wantAt) / 1e6);
      if (this.assignLatency.length > 20_000) this.assignLatency.splice(0, 10_000);
      peer.wantAt = null;
    }
  }

  // ---- jobs ----

  submit(input: JobInput, id?: string): JobRecord {
    const slots = [...this.peers.values()].reduce((s, p) => s + p.slots, 0) || 4;
    const plan = planJob(input, slots);
    let jobId = id ?? randomBytes(4).toString('hex');
    if (id !== undefined && !/^[a-z0-9][a-z0-9-]{0,63}$/.test(id)) throw new InputError('id', `id must be lower-case letters, digits and dashes (got ${JSON.stringify(id)})`);
    while (id === undefined && this.journal.getJob(jobId)) jobId = randomBytes(4).toString('hex');
    const job = this.ledger.submit({ id: jobId, ...plan });
    this.jobLive.set(job.id, { live: getTask(job.task).live(), samples: [] });
    this.event('info', 'job', `job ${job.id} submitted: ${job.task} [${job.start}, ${job.end}] in ${job.chunks} chunk(s) of ${job.chunk}`, { job: job.id });
    this.changed('jobs', job.id);
    this.scheduleDispatch();
    return job;
  }

  cancel(id: string): JobRecord {
    const job = this.ledger.cancel(id);
    this.scheduleDispatch();
    return job;
  }

  /** Running totals of an unfinished job (rebuilt from the journal after a restart); none for finished jobs. */
  private liveOf(id: string): JobLive | undefined {
    let jl = this.jobLive.get(id);
    if (!jl) {
      let job: JobRecord;
      try {
        job = this.ledger.getJob(id);
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
    for (const r of this.journal.results(job.id)) jl.live.add(r.summary as Record<string, unknown>);
    this.jobLive.set(job.id, jl);
    return jl;
  }

  status(id: string): JobStatus {
    const job = this.ledger.getJob(id);
    const counts = this.ledger.counts(id);
    const jl = this.liveOf(id);
    const now = this.clock.now();
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
      failedChunks: this.ledger.quarantinedChunks(id).slice(0, 100),
    };
  }

  /** For a finished job the live panel shows its final summary (done/failed), or nothing (cancelled). */
  private finishedLive(job: JobRecord): Record<string, unknown> {
    if (job.state !== 'done' && job.state !== 'failed') return {};
    return (this.journal.getJobSummary(job.id) as Record<string, unknown> | undefined) ?? this.finalSummary(job.id);
  }

  /** The folded result of a finished job (summary fields as decimal strings). */
  result(id: string): Record<string, unknown> {
    const job = this.ledger.getJob(id);
    if (job.state !== 'done' && job.state !== 'failed') throw new ConflictError(`job ${id} is ${job.state}; its result is ready when it is done`);
    const summary = (this.journal.getJobSummary(id) as Record<string, unknown> | undefined) ?? this.finalSummary(id);
    const seconds = job.startedAt !== null && job.finishedAt !== null ? (job.finishedAt - job.startedAt) / 1000 : null;
    return {
      id: job.id,
      task: job.task,
      state: job.state,
      start: job.start.toString(),
      end: job.end.toString(),
      ...summary,
      seconds,
      failedChunks: this.ledger.quarantinedChunks(id).map((q) => q.index),
    };
  }

  private finalSummary(id: string): Record<string, unknown> {
    const job = this.ledger.getJob(id);
    const folder = getTask(job.task).folder();
    for (const r of this.journal.results(id)) {
      const b = spanBounds(job, r.index, r.span);
      folder.add(r.index, b.start, b.end, r.summary as Record<string, unknown>);
    }
    const summary = folder.result();
    this.journal.setJobSummary(id, summary);
    return summary;
  }

  /** Streams a finished job's full output (every prime, the final grid) in chunk order. */
  checkOutput(id: string): { job: JobRecord; task: Task } {
    const job = this.ledger.getJob(id);
    const task: Task = getTask(job.task);
    if (!task.hasOutput(job.params) || !task.outputText) {
      throw new ConflictError(`job ${id} keeps no full output (for primes, submit with --list)`);
    }
    if (job.state !== 'done' && job.state !== 'failed') throw new ConflictError(`job ${id} is ${job.state}; its output is ready when it is done`);
    return { job, task };
  }

  async writeOutput(id: string, out: Writable): Promise<void> {
    const { job, task } = this.checkOutput(id);
    if (!task.outputText) return;
    for (const r of this.journal.results(id, { withOutput: true })) {
      if (!r.output) continue;
      for (const piece of task.outputText(job.params, spanBounds(job, r.index, r.span).start, r.output)) {
        if (!out.write(piece)) await once(out, 'drain');
      }
    }
  }

  /** Chunk states for the chunk map, aggregated into at most `cells` cells. */
  chunkMap(id: string, cells = 4096): { total: number; cells: number[][] } {
    const states = this.ledger.chunkStates(id);
    const n = states.length;
    const k = Math.max(1, Math.ceil(n / cells));
    const out: number[][] = [];
    for (let i = 0; i < n; i += k) {
      const c = [0, 0, 0, 0];
      for (let j = i; j < Math.min(n, i + k); j++) (c[states[j] as number] as number)++;
      out.push(c);
    }
    return { total: n, cells: out };
  }

  jobs(): JobStatus[] {
    return this.ledger.listJobs().map((j) => this.status(j.id));
  }

  getJob(id: string): JobRecord {
    return this.ledger.getJob(id);
  }

  nodeLeases(id: string): Lease[] {
    return this.ledger.leasesOf(id);
  }

  /** Hot or throttled (a Pi's under-voltage / throttling flags, bits 0-3 of get_throttled): fewer chunks. */
  isHot(id: string): boolean {
    const t = this.nodes.get(id)?.telemetry;
    if (!t) return false;
    return (t.temp !== undefined && t.temp >= (this.o.hotTemp ?? 80)) || (t.throttled !== undefined && (t.throttled & 0xf) !== 0);
  }

  /** Nodes with `busy`: the chunks each holds now, queued or running (results on their way to the journal are done). */
  nodeList(): (NodeRecord & { busy: number; hot: boolean })[] {
    return this.nodes.list().map((n) => ({ ...n, busy: this.busy(n.id), hot: this.isHot(n.id) }));
  }

  connectedWorkers(): number {
    return this.peers.size;
  }
}

/** First and last number of `span` chunks from `index`. */
function wireChunk(a: Assignment): MessageOf<'assign'>['chunks'][number] {
  return { token: a.token, job: a.jobId, index: a.index, span: a.span, attempt: a.attempt, task: a.task, params: a.params, start: a.start.toString(), end: a.end.toString() };
}

