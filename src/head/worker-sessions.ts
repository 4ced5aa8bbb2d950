import type { Assignment, Clock, JobRecord, Ledger, ResultInput } from '../core/index.js';
import { BrambleError, RepeatLimiter } from '../core/index.js';
import type { MessageLink } from '../net/index.js';
import type { HeadCounters, SessionHandlers, SessionInfo, SessionPort, WorkerSession } from '../ports/index.js';
import type { LifeMessage, Message, MessageOf, TelemetryFields } from '../protocol/index.js';
import { ErrorCode, LIFE_STRIPS, PROTOCOL_VERSION, ProtocolError, isLifeMessage } from '../protocol/index.js';
import { CODE_PIECE_BYTES } from '../protocol/index.js';
import { findTask } from '../tasks/index.js';
import { checkProof, newNonce } from '../trust/index.js';
import type { StoredCode } from './code-store.js';
import type { HeadEvents } from './head-events.js';
import type { LifeLinks, LifeListener } from './life-coordinator.js';
import type { NodeRegistry } from './nodes.js';
import type { ResultBatcher, ResultSink } from './result-batcher.js';

export interface WorkerSessionsOptions {
  headId: string;
  clock: Clock;
  ledger: Ledger;
  nodes: NodeRegistry;
  events: HeadEvents;
  batcher: () => ResultBatcher;
  counters: HeadCounters;
  /** Cluster secret workers must prove (read at each handshake, so a rotation takes effect at once); null only with --insecure. */
  secret: (() => string) | null;
  leaseMs: number;
  telemetryMs: number;
  /** A node at or above this CPU temperature (°C), or reporting throttling, gets at most `hotSlots` chunks at once. */
  hotTemp: number;
  hotSlots: number;
  /** Remote commands' output and exits go here; a worker leaving ends its channels. */
  exec?: {
    fromWorker(node: string, msg: MessageOf<'exec-data'> | MessageOf<'exec-exit'>): void;
    workerGone(node: string, why: string | undefined): void;
  };
  /** Shipped code by hash (issue 12), and the public key workers check its signatures with. */
  code?: (hash: string) => StoredCode | null;
  codeKey?: string;
  /** Code pieces sent. */
  codeServed?: (bytes: number) => void;
  /** False while this head may not hand out leases (HA: not the leader by its own clock). */
  mayLease?: () => boolean;
  /** HA: the leadership's epoch, sent in `welcome` so workers refuse a head of an older one. */
  epoch?: bigint;
  /** Jobs run by a head-side coordinator (distributed Life): never leased to a worker's slots. */
  reserved?: (job: JobRecord) => boolean;
}

/** A connection not yet authenticated: the worker port's `Pending`, or one end of a `LocalLink`. */
export interface LinkPending {
  conn: MessageLink;
  /** Keying material both ends agree on (TLS exporter; random for an in-process link). */
  binding: Uint8Array;
  authenticated(): void;
}

/** One member of the cluster, native or compat: the single place where joining and leaving happen. */
class Session implements WorkerSession, ResultSink {
  inHand = 0;
  constructor(
    readonly id: string,
    readonly slots: number,
    readonly handlers: SessionHandlers,
    private readonly owner: WorkerSessions,
  ) {}
  lease(n: number, accept?: (job: JobRecord) => boolean): Assignment[] {
    if (!this.owner.mayLease()) return [];
    const reserved = this.owner.reserved;
    const got = this.owner.ledger.lease(this.id, n, reserved ? (job) => !reserved(job) && (!accept || accept(job)) : accept);
    if (got.length > 0 && this.owner.firstLeaseAt === null) this.owner.firstLeaseAt = Date.now();
    return got;
  }
  result(input: Omit<ResultInput, 'worker'>): void {
    // no copy per result (this is the hot path of noop jobs): the input becomes the ledger's
    const r = input as ResultInput;
    r.worker = this.id;
    this.owner.batcher().push(this, r);
  }
  fail(token: string, error: string): void {
    this.owner.ledger.fail(this.id, token, error);
  }
  heartbeat(tokens?: string[]): string[] {
    return this.owner.ledger.heartbeat(this.id, tokens);
  }
  report(telemetry: TelemetryFields): void {
    this.owner.nodes.report(this.id, telemetry);
  }
  leave(how: 'lost' | 'drained'): number {
    return this.owner.leave(this, how);
  }
  ack(tokens: string[], duplicates: number): void {
    this.handlers.ack(tokens, duplicates);
  }
  reject(err: Error): void {
    this.handlers.reject(err);
  }
}

/**
 * Flow control is a window, as TCP's: a worker says once (in `want`) how many chunks it can hold,
 * queued and running; the head keeps it topped up. A result frees its place the moment it arrives
 * (before the commit, which only delays the ack), so results and assigns cross without a `want` each.
 */
interface Peer {
  conn: MessageLink;
  session: Session | null;
  /** Chunks this worker can hold at once (its last `want`). */
  window: number;
  slots: number;
  /** Since when it has had free places while work was waiting (for the want -> assign latency figure). */
  wantAt: bigint | null;
  lastServed: number;
  draining: boolean;
  /** What it announced it runs: task names and capabilities (`module`, `exec`). */
  runs: Set<string>;
}

/**
 * Worker sessions: the session port (join, lease, result, leave) shared by native workers and the
 * compat listeners, and the native worker port on top of it (handshake, messages, window flow control
 * and dispatch).
 */
export class WorkerSessions implements SessionPort {
  readonly ledger: Ledger;
  readonly nodes: NodeRegistry;
  readonly batcher: () => ResultBatcher;
  readonly reserved: ((job: JobRecord) => boolean) | undefined;
  /** The Life coordinator: told of native workers joining and leaving, and given their `life-*` frames. */
  life: LifeListener | null = null;
  /** Refused handshakes are logged at most 5 a minute per address. */
  private readonly authLogLimit = new RepeatLimiter({ burst: 5, windowMs: 60_000 });
  private readonly sessions = new Map<string, Session>();
  private readonly peers = new Map<string, Peer>();
  private readonly conns = new Set<Peer>();
  private readonly deferred = new Set<Peer>();
  private dispatchScheduled = false;
  /** Recent times (ms) from a `want` that found work waiting to the `assign` that answered it. */
  readonly assignLatency: number[] = [];

  constructor(private readonly o: WorkerSessionsOptions) {
    this.ledger = o.ledger;
    this.nodes = o.nodes;
    this.batcher = o.batcher;
    this.reserved = o.reserved;
  }

  /** Leases refused because this head was not (or no longer) the leader. */
  leasesRefused = 0;
  /** Wall-clock time of this head's first lease (HA: the end of a failover). */
  firstLeaseAt: number | null = null;

  mayLease(): boolean {
    if (!this.o.mayLease || this.o.mayLease()) return true;
    this.leasesRefused++;
    return false;
  }
  /** The native workers as the Life coordinator sees them (life-coordinator.ts). */
  readonly lifeLinks: LifeLinks = {
    peers: () =>
      [...this.peers.entries()]
        // a worker that holds Life strips says so in its hello (an older one would not know the frames)
        .filter(([id, p]) => !p.draining && p.conn.isOpen && (this.nodes.get(id)?.kernels.includes(LIFE_STRIPS) ?? false))
        .map(([id, p]) => ({ id, name: this.nodeName(id), slots: p.slots, memFree: this.nodes.get(id)?.telemetry.memFree ?? null })),
    send: (id: string, m: LifeMessage) => this.peers.get(id)?.conn.send(m) ?? false,
    bufferedBytes: (id: string) => this.peers.get(id)?.conn.bufferedBytes ?? 0,
  };

  // ---- the session port ----

  join(info: SessionInfo, handlers: SessionHandlers): WorkerSession {
    const old = this.sessions.get(info.id);
    if (old) {
      // the same worker reconnected before we noticed its old connection died
      this.sessions.delete(info.id);
      old.handlers.replaced();
      this.ledger.releaseWorker(info.id, 'drained');
    }
    const s = new Session(info.id, info.slots, handlers, this);
    this.sessions.set(info.id, s);
    this.ledger.registerWorker(info.id, info.slots);
    this.nodes.join(info);
    return s;
  }

  /** A session leaves: its leases return at once (failed attempts if it was lost), its tile greys. */
  leave(s: Session, how: 'lost' | 'drained'): number {
    if (this.sessions.get(s.id) !== s) return 0;
    this.sessions.delete(s.id);
    const released = this.ledger.releaseWorker(s.id, how);
    this.nodes.setState(s.id, how === 'drained' ? 'gone' : 'stale', false);
    this.scheduleDispatch();
    return released.length;
  }

  /** Leases of `worker` given to another copy or ended: its transport tells it to stop them. */
  revoke(worker: string, tokens: string[]): void {
    this.sessions.get(worker)?.handlers.revoke(tokens);
  }

  /** Chunks a node holds now, queued or running: its leases but those whose result is on its way to the journal. */
  busy(id: string): number {
    return this.ledger.heldBy(id) - (this.sessions.get(id)?.inHand ?? 0);
  }

  /** Hot or throttled (a Pi's under-voltage / throttling flags, bits 0-3 of get_throttled): fewer chunks. */
  isHot(id: string): boolean {
    const t = this.nodes.get(id)?.telemetry;
    if (!t) return false;
    return (t.temp !== undefined && t.temp >= this.o.hotTemp) || (t.throttled !== undefined && (t.throttled & 0xf) !== 0);
  }

  connectedWorkers(): number {
    return this.peers.size;
  }

  /** Slots of connected native workers (for sizing a new job's chunks). */
  slotCount(): number {
    let n = 0;
    for (const p of this.peers.values()) n += p.slots;
    return n;
  }

  latencyPercentiles(): { p50: number | null; p99: number | null; samples: number } {
    const s = [...this.assignLatency].sort((a, b) => a - b);
    const at = (q: number): number | null => (s.length ? (s[Math.min(s.length - 1, Math.floor(q * s.length))] as number) : null);
    return { p50: at(0.5), p99: at(0.99), samples: s.length };
  }

  /** Sends to a connected native worker (remote commands); false when it is not connected. */
  sendToWorker(id: string, msg: Message): boolean {
    const peer = this.peers.get(id);
    if (!peer || !peer.conn.isOpen) return false;
    peer.conn.send(msg);
    return true;
  }

  private nodeName(id: string): string {
    return this.nodes.get(id)?.name ?? id;
  }

  // ---- native workers ----

  /**
   * A connection from the worker port (after TLS), or the in-process link of `bramble run`: challenge,
   * hello, then messages; the same handshake, proof and dispatch either way.
   */
  accept(p: LinkPending): void {
    const peer: Peer = { conn: p.conn, session: null, window: 0, slots: 1, wantAt: null, lastServed: 0, draining: false, runs: new Set() };
    this.conns.add(peer);
    const nonce = newNonce();
    p.conn.send({ type: 'challenge', nonce, head: this.o.headId });
    p.conn.on('message', (msg) => {
      try {
        if (peer.session === null) this.onHello(peer, p, nonce, msg);
        else this.onWorkerMessage(peer, peer.session, msg);
      } catch (err) {
        this.o.counters.badMessages++;
        p.conn.fail(err instanceof BrambleError ? err : new ProtocolError(ErrorCode.Internal, (err as Error).message));
      }
    });
    p.conn.on('close', (err) => {
      this.conns.delete(peer);
      if (err instanceof ProtocolError && err.code !== 'TIMEOUT') this.o.counters.badMessages++;
      const s = peer.session;
      if (s === null || this.peers.get(s.id) !== peer) return;
      this.peers.delete(s.id);
      this.o.exec?.workerGone(s.id, err?.message);
      this.life?.left(s.id);
      const released = s.leave(peer.draining ? 'drained' : 'lost');
      this.o.events.event(
        peer.draining ? 'info' : 'warn',
        'node',
        `node ${this.nodeName(s.id)} left${peer.draining ? ' (drained)' : ''}${released ? `; ${released} lease(s) returned` : ''}${err && !peer.draining ? `: ${err.message}` : ''}`,
      );
    });
  }

  private onHello(peer: Peer, p: LinkPending, nonce: string, msg: Message): void {
    if (msg.type !== 'hello') throw new ProtocolError(ErrorCode.Unexpected, `expected hello, got ${msg.type}`);
    if (msg.version !== PROTOCOL_VERSION) {
      throw new ProtocolError(ErrorCode.Version, `worker speaks protocol ${msg.version}, this head speaks ${PROTOCOL_VERSION}: install the same bramble version`);
    }
    if (this.o.secret !== null) {
      if (!msg.proof || !checkProof(this.o.secret(), nonce, msg.node, p.binding, msg.proof)) {
        this.o.counters.authFailures++;
        const suppressed = this.authLogLimit.allow(p.conn.remoteAddress);
        if (suppressed !== null) this.o.events.event('warn', 'auth', `refused a worker from ${p.conn.remoteAddress}: wrong join token${suppressed ? ` (${suppressed} more refused before, not logged)` : ''}`);
        throw new ProtocolError(ErrorCode.Auth, 'authentication failed: the join token is wrong or was rotated out (`bramble token` prints the current one)');
      }
    }
    p.authenticated();
    const { type: _t, version: _v, node, name, instance, hostname, addresses, slots, kernels, pid, version_text, proof: _p, allowExec, ...telemetry } = msg;
    peer.slots = slots;
    peer.runs = new Set(kernels);
    peer.session = this.join(
      { id: node, name, instance, hostname, addresses, remote: p.conn.remoteAddress, slots, kernels, pid, version: version_text ?? null, legacy: false, allowExec: allowExec ?? false, telemetry },
      {
        ack: (tokens) => peer.conn.send({ type: 'ack', tokens }),
        revoke: (tokens) => peer.conn.send({ type: 'cancel', tokens }),
        reject: (err) => peer.conn.fail(err instanceof BrambleError ? err : new ProtocolError(ErrorCode.BadMessage, err.message)),
        replaced: () => {
          if (this.peers.get(node) === peer) this.peers.delete(node);
          peer.conn.close({ code: 'REPLACED', message: 'replaced by a newer connection of the same worker' });
        },
      },
    ) as Session;
    this.peers.set(node, peer);
    setImmediate(() => this.life?.joined(node));
    this.o.events.event('info', 'node', `node ${name} joined from ${p.conn.remoteAddress} with ${slots} slot(s)`, { node });
    peer.conn.send({
      type: 'welcome',
      version: PROTOCOL_VERSION,
      head: this.o.headId,
      leaseMs: this.o.leaseMs,
      heartbeatMs: Math.max(20, Math.floor(this.o.leaseMs / 3)),
      telemetryMs: this.o.telemetryMs,
      ...(this.o.codeKey ? { codeKey: this.o.codeKey } : {}),
      ...(this.o.epoch !== undefined ? { epoch: this.o.epoch.toString() } : {}),
    });
  }

  /** Sends shipped code in pieces, or an error naming the hash. */
  private sendCode(peer: Peer, hash: string): void {
    const code = this.o.code?.(hash) ?? null;
    if (!code) {
      peer.conn.send({ type: 'code', hash, offset: 0, total: 0, bytes: new Uint8Array(), signature: '', error: `the head has no code ${hash}` });
      return;
    }
    const total = code.bytes.length;
    for (let off = 0; off < total || off === 0; off += CODE_PIECE_BYTES) {
      const bytes = code.bytes.subarray(off, Math.min(total, off + CODE_PIECE_BYTES)) as Uint8Array<ArrayBuffer>;
      peer.conn.send({ type: 'code', hash, offset: off, total, bytes, signature: code.signature });
      if (total === 0) break;
    }
    this.o.codeServed?.(total);
  }

  /** Whether a connected worker runs what this task needs (`--allow-code`, `--allow-exec`). */
  anyRuns(need: string): boolean {
    for (const p of this.peers.values()) if (!p.draining && p.runs.has(need)) return true;
    return false;
  }

  /** A job this worker may be given: tasks that need an opt-in go only to workers that announced it. */
  private accepts(peer: Peer): (job: JobRecord) => boolean {
    return (job) => {
      const need = findTask(job.task)?.needs;
      return need === null || need === undefined || peer.runs.has(need);
    };
  }

  private onWorkerMessage(peer: Peer, s: Session, msg: Message): void {
    if (isLifeMessage(msg)) return this.life?.message(s.id, msg);
    switch (msg.type) {
      case 'want':
        peer.window = peer.draining ? 0 : msg.n;
        this.topUp(peer);
        break;
      case 'heartbeat': {
        const stale = s.heartbeat(msg.tokens);
        s.report({});
        // an empty ack answers every heartbeat, so a worker can tell a live head from a stopped one
        // (a SIGSTOPped head's kernel still accepts bytes): its silence check reconnects elsewhere
        peer.conn.send({ type: 'ack', tokens: [] });
        // leases it still runs that were given to others or ended: tell it to stop them (a worker lists
        // only chunks it has not answered, so none of these has a result on its way)
        if (stale.length > 0) peer.conn.send({ type: 'cancel', tokens: stale });
        this.topUp(peer); // a worker that was silent past a lease gets work again once heard from
        break;
      }
      case 'telemetry': {
        const { type: _t, ...t } = msg;
        s.report(t);
        break;
      }
      case 'result':
        s.result({ token: msg.token, jobId: msg.job, index: msg.index, span: msg.span ?? 1, worker: s.id, summary: msg.summary, output: msg.output ?? null, ms: msg.ms } as ResultInput);
        this.topUp(peer);
        break;
      case 'fail':
        s.fail(msg.token, msg.error);
        this.topUp(peer);
        break;
      case 'exec-data':
      case 'exec-exit':
        this.o.exec?.fromWorker(s.id, msg);
        break;
      case 'code_request':
        this.sendCode(peer, msg.hash);
        break;
      case 'drain':
        peer.draining = true;
        peer.window = 0;
        this.nodes.setState(s.id, 'draining');
        this.o.events.event('info', 'node', `node ${this.nodeName(s.id)} is draining`);
        break;
      default:
        throw new ProtocolError(ErrorCode.Unexpected, `unexpected ${msg.type} message from a worker`);
    }
  }

  scheduleDispatch(): void {
    if (this.dispatchScheduled) return;
    this.dispatchScheduled = true;
    setImmediate(() => {
      this.dispatchScheduled = false;
      this.dispatch();
    });
  }

  /** Free places of a worker's window (a hot node's window shrinks to --hot-slots). */
  private freePlaces(peer: Peer): number {
    const s = peer.session;
    if (peer.draining || !peer.conn.isOpen || s === null) return 0;
    const window = this.isHot(s.id) ? Math.min(peer.window, this.o.hotSlots) : peer.window;
    return window - this.busy(s.id);
  }

  /**
   * Places are refilled in batches of a quarter of a large window (fewer, larger assigns when chunks
   * are tiny and a worker holds many); a small window (slots plus a little prefetch) at once; and never
   * later than the moment a slot would go idle.
   */
  private lowWater(peer: Peer): number {
    return Math.max(1, Math.min(peer.window >> 2, peer.window - peer.slots + 1));
  }

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
  dispatch(only?: Peer[]): void {
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
    const s = peer.session as Session;
    const chunks = s.lease(this.freePlaces(peer), this.accepts(peer));
    if (chunks.length === 0) return;
    peer.lastServed = this.o.clock.now();
    peer.conn.send({ type: 'assign', chunks: chunks.map(wireChunk) });
    this.o.counters.assignFrames++;
    if (peer.wantAt !== null) {
      this.assignLatency.push(Number(process.hrtime.bigint() - peer.wantAt) / 1e6);
      if (this.assignLatency.length > 20_000) this.assignLatency.splice(0, 10_000);
      peer.wantAt = null;
    }
  }
}

function wireChunk(a: Assignment): MessageOf<'assign'>['chunks'][number] {
  return { token: a.token, job: a.jobId, index: a.index, span: a.span, attempt: a.attempt, task: a.task, params: a.params, start: a.start.toString(), end: a.end.toString() };
}
