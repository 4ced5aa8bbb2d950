import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { EtcdClient, prefixEnd } from './etcd-client.js';
import { StorageError } from './errors.js';

/** A write made under a leadership that has ended (another leader exists, or this one may have lapsed). */
export class FencedError extends StorageError {
  override name = 'FencedError';
  constructor(message: string) {
    super(message);
    Object.defineProperty(this, 'code', { value: 'FENCED' });
  }
}

/**
 * What the journal compares on every write: the leader key's create revision must still be `epoch`.
 * `valid()` is the holder's own, local, monotonic-clock view: false once its etcd lease may have expired.
 */
export interface Fence {
  key: string;
  epoch: bigint;
  valid(): boolean;
}

export interface LeaderInfo {
  name: string;
  urls: string[];
  /** The leader key's create revision: grows with every new leadership; the fencing token. */
  epoch: bigint;
}

export interface CandidateInfo {
  name: string;
  urls: string[];
}

export interface ElectionOptions {
  endpoints: string[];
  /** Key prefix of this bramble cluster in etcd, e.g. `bramble/`. */
  prefix?: string;
  name: string;
  /** URLs this candidate serves the API and workers on (advertised to standbys and workers). */
  urls: string[];
  /** etcd lease TTL, whole seconds (Kubernetes: 15). */
  leaseTtlS?: number;
  /** A leader that has not renewed for this long stops acting as leader (Kubernetes: 10 s). */
  renewDeadlineMs?: number;
  /** Campaign, renew and observe period (Kubernetes: 2 s). */
  retryMs?: number;
  /** Monotonic milliseconds; injectable for tests. */
  now?: () => number;
}

export type ElectionState = 'idle' | 'standby' | 'leader' | 'stopped';

/**
 * Leader election on one etcd key, `<prefix>leader`, attached to the candidate's lease and created only
 * if absent (a transaction comparing its create revision with 0). The winner's epoch is that key's
 * create revision; EtcdJournal compares it on every write, so a leader that lost its key cannot write.
 *
 * Safety never waits on a "lease lost" notice: a leader counts its authority from the moment it *sent*
 * the last successful grant or keep-alive (etcd starts the TTL later than that), and stops being leader
 * `renewDeadlineMs` after it by its own monotonic clock, whether or not anything told it so. With the
 * Kubernetes figures (TTL 15 s, deadline 10 s) it steps down 5 s before etcd could hand the key to
 * another candidate, which covers clock-rate error and a late timer. Every retry period the candidate
 * also registers under `<prefix>candidates/<name>` (same lease) and reads who leads, so standbys know
 * where to forward and workers where to go.
 *
 * Events: `elected` (LeaderInfo), `demoted` (reason), `leader` (LeaderInfo | null, when the observed
 * leader changes), `error` is never emitted: transient etcd errors are retried every period.
 */
export class EtcdElection extends EventEmitter {
  readonly client: EtcdClient;
  readonly prefix: string;
  readonly leaderKey: string;
  readonly name: string;
  readonly urls: string[];
  readonly leaseTtlS: number;
  readonly renewDeadlineMs: number;
  readonly retryMs: number;
  private readonly now: () => number;
  private state: ElectionState = 'idle';
  private lease: string | null = null;
  /** Local monotonic time until which this candidate may act as leader. */
  private validUntil = 0;
  private epoch = 0n;
  private observed: LeaderInfo | null = null;
  private timer: NodeJS.Timeout | null = null;
  private demoteTimer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  /** Leaderships this candidate won, with the local time: the election history. */
  readonly history: { epoch: bigint; at: number; event: 'elected' | 'demoted'; reason?: string }[] = [];

  constructor(options: ElectionOptions) {
    super();
    this.client = new EtcdClient({ endpoints: options.endpoints, requestTimeoutMs: Math.min(3000, options.retryMs ?? 2000) });
    this.prefix = options.prefix ?? 'bramble/';
    this.leaderKey = `${this.prefix}leader`;
    this.name = options.name;
    this.urls = options.urls;
    this.leaseTtlS = options.leaseTtlS ?? 15;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryMs = options.retryMs ?? 2000;
    this.now = options.now ?? (() => performance.now());
    if (this.renewDeadlineMs >= this.leaseTtlS * 1000) throw new StorageError('renewDeadlineMs must be shorter than the lease TTL');
    if (this.retryMs >= this.renewDeadlineMs) throw new StorageError('retryMs must be shorter than renewDeadlineMs');
  }

  /** Starts campaigning (and observing); returns at once. */
  start(): void {
    if (this.state !== 'idle') return;
    this.state = 'standby';
    this.tick();
  }

  /**
   * Until when (by this election's monotonic clock, `performance.now()` unless given) the last renewal
   * that etcd accepted lets this candidate act as leader: that renewal's send time + renewDeadlineMs.
   */
  get authorityUntil(): number {
    return this.validUntil;
  }

  /** Leader by its own clock right now. Check it before every act of leadership (handing out a lease). */
  isLeader(): boolean {
    return this.state === 'leader' && this.now() < this.validUntil;
  }

  /** The fence to hand to EtcdJournal: epoch of the current leadership, valid while it lasts. */
  fence(): Fence | null {
    if (!this.isLeader()) return null;
    const epoch = this.epoch;
    return { key: this.leaderKey, epoch, valid: () => this.isLeader() && this.epoch === epoch };
  }

  get currentEpoch(): bigint | null {
    return this.isLeader() ? this.epoch : null;
  }

  /** Who leads, as last read from etcd (this candidate included). */
  leader(): LeaderInfo | null {
    return this.observed;
  }

  /** Candidates alive (their lease held), read from etcd now. */
  async candidates(): Promise<CandidateInfo[]> {
    const p = `${this.prefix}candidates/`;
    const r = await this.client.range(p, { rangeEnd: prefixEnd(p) });
    return r.kvs.map((kv) => JSON.parse(kv.value.toString('utf8')) as CandidateInfo);
  }

  /** Reads the leader key now. */
  async readLeader(): Promise<LeaderInfo | null> {
    const kv = await this.client.get(this.leaderKey);
    if (!kv) return null;
    const v = JSON.parse(kv.value.toString('utf8')) as CandidateInfo;
    return { name: v.name, urls: v.urls, epoch: kv.createRevision };
  }

  /** Gives leadership up (deletes the key if still ours) and stops campaigning. */
  async resign(): Promise<void> {
    const wasLeader = this.state === 'leader';
    const epoch = this.epoch;
    this.stopTimers();
    this.state = 'stopped';
    await this.running?.catch(() => undefined);
    if (wasLeader) {
      this.demote('resigned');
      await this.client.txn([{ key: this.leaderKey, target: 'CREATE', value: epoch }], [{ del: { key: this.leaderKey } }]).catch(() => undefined);
    }
    if (this.lease) await this.client.revoke(this.lease).catch(() => undefined);
    this.lease = null;
  }

  /**
   * Gives up this leadership but keeps campaigning (a journal write failed, or the head could not start):
   * demotes at once, deletes the leader key if it is still ours, and drops the lease, so the next
   * leadership, ours or another's, is a new campaign with a new epoch.
   */
  async stepDown(reason: string): Promise<void> {
    if (this.state !== 'leader') return;
    const epoch = this.epoch;
    const lease = this.lease;
    this.lease = null;
    this.demote(reason);
    await this.client.txn([{ key: this.leaderKey, target: 'CREATE', value: epoch }], [{ del: { key: this.leaderKey } }]).catch(() => undefined);
    if (lease) await this.client.revoke(lease).catch(() => undefined);
  }

  /** Stops without touching etcd (what a crash looks like to the others, apart from the process still living). */
  close(): void {
    this.stopTimers();
    if (this.state === 'leader') this.demote('closed');
    this.state = 'stopped';
    this.client.close();
  }

  private stopTimers(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.demoteTimer) clearTimeout(this.demoteTimer);
    this.timer = this.demoteTimer = null;
  }

  private tick(): void {
    if (this.state === 'stopped') return;
    this.running = this.round()
      .catch(() => undefined)
      .finally(() => {
        this.running = null;
        if (this.state !== 'stopped') this.timer = setTimeout(() => this.tick(), this.retryMs);
      });
  }

  private demote(reason: string): void {
    if (this.state !== 'leader') return;
    this.state = this.state === 'leader' ? 'standby' : this.state;
    this.validUntil = 0;
    if (this.demoteTimer) clearTimeout(this.demoteTimer);
    this.demoteTimer = null;
    this.history.push({ epoch: this.epoch, at: Date.now(), event: 'demoted', reason });
    this.emit('demoted', reason);
  }

  /** Extends the local authority to `sentAt + renewDeadline`, and arms the timer that ends it. */
  private extend(sentAt: number): void {
    this.validUntil = sentAt + this.renewDeadlineMs;
    this.armDemote();
  }

  /** A timer can fire a little early by the monotonic clock: it re-arms until the deadline has passed. */
  private armDemote(): void {
    if (this.demoteTimer) clearTimeout(this.demoteTimer);
    this.demoteTimer = setTimeout(
      () => {
        if (this.state !== 'leader') return;
        if (this.now() < this.validUntil) this.armDemote();
        else this.lapse();
      },
      Math.max(1, Math.ceil(this.validUntil - this.now())),
    );
  }

  /** The renew deadline passed: step down, and let the lease go so the next leader need not wait the TTL. */
  private lapse(): void {
    this.demote('renew deadline passed');
    const lease = this.lease;
    this.lease = null;
    if (lease) void this.client.revoke(lease).catch(() => undefined);
  }

  /** One period: hold a lease, register, campaign or renew, observe. */
  private async round(): Promise<void> {
    // 1. a lease, renewed once per period
    let sentAt = this.now();
    if (this.lease) {
      let ttl: number;
      try {
        ttl = await this.client.keepAlive(this.lease);
      } catch {
        // unreachable: keep the lease id; the deadline timer demotes a leader that cannot renew
        await this.observe();
        return;
      }
      if (ttl <= 0) {
        this.lease = null;
        this.demote('lease expired');
      } else if (this.state === 'leader') {
        // a renewal that comes back after the deadline does not revive the leadership
        if (this.now() >= this.validUntil) this.lapse();
        else this.extend(sentAt);
      }
    }
    if (this.state === 'stopped') return;
    if (!this.lease) {
      sentAt = this.now();
      this.lease = (await this.client.grant(this.leaseTtlS)).id;
      await this.client.put(`${this.prefix}candidates/${this.name}`, JSON.stringify({ name: this.name, urls: this.urls }), this.lease);
    }
    // 2. campaign when nobody leads
    if (this.state === 'standby') {
      const me = JSON.stringify({ name: this.name, urls: this.urls });
      const r = await this.client.txn(
        [{ key: this.leaderKey, target: 'CREATE', value: 0 }],
        [{ put: { key: this.leaderKey, value: me, lease: this.lease } }],
        [{ range: { key: this.leaderKey } }],
      );
      if (r.succeeded && (this.state as ElectionState) === 'standby') {
        if (this.now() - sentAt < this.renewDeadlineMs) {
          this.epoch = r.revision;
          this.state = 'leader';
          this.extend(sentAt);
          const info = { name: this.name, urls: this.urls, epoch: this.epoch };
          this.history.push({ epoch: this.epoch, at: Date.now(), event: 'elected' });
          this.setObserved(info);
          this.emit('elected', info);
        }
        return;
      }
      const range = r.responses[0];
      const kv = range && 'kvs' in range ? range.kvs[0] : undefined;
      if (kv) {
        const v = JSON.parse(kv.value.toString('utf8')) as CandidateInfo;
        this.setObserved({ name: v.name, urls: v.urls, epoch: kv.createRevision });
      }
      return;
    }
    await this.observe();
  }

  private async observe(): Promise<void> {
    try {
      const info = await this.readLeader();
      if (this.state === 'leader' && info?.epoch !== this.epoch) this.demote('leader key lost');
      this.setObserved(info);
    } catch {
      /* etcd unreachable: keep the last view (a leader's own deadline still runs) */
    }
  }

  private setObserved(info: LeaderInfo | null): void {
    const before = this.observed;
    if (before?.epoch === info?.epoch) return;
    this.observed = info;
    this.emit('leader', info);
  }
}
