import type net from 'node:net';
import type { Assignment, JobRecord } from '../core/index.js';
import { primeListText } from '../kernels/index.js';
import type { ChunkOutput } from '../tasks/index.js';
import type { CompatHost, WorkerSession } from '../ports/index.js';
import { AnswerChecker } from './answer-checker.js';
import type { CheckPool, CheckPoolStats } from './check-pool.js';
import { CompatListener } from './listener.js';
import type { ListenerOptions } from './listener.js';

export interface TextServerOptions extends ListenerOptions {
  /** Only this job's chunks (else the first job in line that is a primes --list job). */
  job: string | null;
  /** A client that has not answered a chunk within this time is closed and its chunk returns. */
  timeoutMs: number;
  /** Jobs with wider chunks are not given to text clients (a Python loop would never finish them). */
  maxChunk: bigint;
  /**
   * A client with no chunk is closed after this long, and so is one whose answer, once begun, stops
   * for this long (issue 17, item 20: --compat-idle-s).
   */
  idleMs: number;
  /** Blank characters (space, CR, LF) a client may send while it has no chunk. */
  maxBlanks: number;
  /** Where answers are checked: off the event loop, within a budget per source address. */
  pool: CheckPool;
  /** A rate-limited line in the head's event log (one per key per minute; default level warn). */
  warn(key: string, msg: string, level?: 'info' | 'warn'): void;
}

/**
 * A seed 000 client:
 * - `waiting`: connected, no chunk (no suitable job has work); any byte but a blank closes it
 * - `computing`: was sent `JobID:Start:End`, its answer is being read and checked
 * - `closed`: gone; its chunk went back to the queue
 */
export type TextClientState = 'waiting' | 'computing' | 'closed';

interface TextClient {
  id: string;
  remote: string;
  instance: number;
  socket: net.Socket;
  session: WorkerSession;
  state: TextClientState;
  lease: Assignment | null;
  /** The chunk was finished by another copy or cancelled: its answer is read and dropped. */
  revoked: boolean;
  checker: AnswerChecker | null;
  computed: ChunkOutput | null;
  leasedAt: number;
  lastReport: number;
  /** When it last became `waiting` (for --compat-idle-s). */
  waitingSince: number;
  /** Blank characters sent since then. */
  blanks: number;
  /** When its socket last gave a byte. */
  lastByte: number;
  /** The check of its answer (the socket is paused until it ends) and the bytes read past the JobID. */
  check: { cancel: () => void } | null;
  held: Buffer | null;
}

export interface TextServerStats {
  clients: number;
  computing: number;
  accepted: number;
  duplicates: number;
  refused: number;
  timeouts: number;
  /** Connections closed at accept (outside --compat-allow, or too many). */
  refusedConnections: number;
  /** Of those, closed because their address held COMPAT_MAX_PER_ADDRESS already. */
  refusedPerAddress: number;
  /** Closed after --compat-idle-s with no chunk, or with an answer stalled that long. */
  idleClosed: number;
  /** Closed for sending more than `maxBlanks` blank characters while they had no chunk. */
  blankFloods: number;
  /** Clients closed to make room for a new connection when the listener was full (waiting ones first). */
  evicted: number;
  /** The answer checks (off the event loop). */
  checks: CheckPoolStats;
}

const BLANK = new Set([10, 13, 32]);

/**
 * Seed 000's text protocol. The head sends `JobID:StartingPoint:EndingPoint\n` (a chunk of a primes
 * --list job; JobID is the chunk index, both ends inclusive), the client answers `JobID:3,5,7\n`.
 * Each connection is a worker with one slot in the ledger: it holds a lease (heartbeated while the
 * connection is open, for at most `timeoutMs`), a disconnect returns it at once, and an answer is
 * accepted only if it is exactly the chunk's primes; the head then stores the same summary and compact
 * list a native worker would have sent. A legacy client never counts toward a chunk's quarantine (it is
 * not authenticated, so it must not be able to fail a job): its lost or refused chunks simply return.
 */
export class TextServer {
  private readonly listener: CompatListener;
  private readonly clients = new Map<string, TextClient>();
  private timer: NodeJS.Timeout | null = null;
  private pollScheduled = false;
  private readonly warnedJobs = new Set<string>();
  private unsubscribe: (() => void) | null = null;
  private stopped = false;
  readonly stats = { accepted: 0, duplicates: 0, refused: 0, timeouts: 0, idleClosed: 0, blankFloods: 0, evicted: 0 };

  constructor(
    private readonly head: CompatHost,
    private readonly o: TextServerOptions,
  ) {
    this.listener = new CompatListener({ ...o, evict: () => this.evictOne() }, (socket, remote) => this.onSocket(socket, remote));
  }

  async listen(): Promise<number> {
    const port = await this.listener.listen();
    const every = Math.max(50, Math.min(1000, Math.floor(this.head.leaseMs / 3)));
    this.timer = setInterval(() => this.guard('tick', () => this.tick()), every);
    this.timer.unref();
    this.unsubscribe = this.head.onChange((what) => {
      if (what === 'jobs') this.schedulePoll();
    });
    return port;
  }

  get port(): number {
    return this.listener.port;
  }

  status(): TextServerStats {
    let computing = 0;
    for (const c of this.clients.values()) if (c.state === 'computing') computing++;
    return {
      clients: this.clients.size,
      computing,
      ...this.stats,
      refusedConnections: this.listener.stats.refused,
      refusedPerAddress: this.listener.stats.refusedPerAddress,
      checks: this.o.pool.stats(),
    };
  }

  async close(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.unsubscribe?.();
    for (const c of [...this.clients.values()]) this.drop(c, null);
    await this.listener.close();
  }

  // ---- connections ----

  private onSocket(socket: net.Socket, remote: string): void {
    const used = new Set<number>();
    for (const c of this.clients.values()) if (c.remote === remote) used.add(c.instance);
    let instance = 0;
    while (used.has(instance)) instance++;
    const id = `seed000:${remote}#${instance}`;
    const now = this.head.clock.now();
    const session = this.head.sessions.join(
      {
        id,
        name: instance === 0 ? `${remote} (seed 000)` : `${remote} (seed 000 #${instance})`,
        instance,
        hostname: remote,
        addresses: [remote],
        remote,
        slots: 1,
        kernels: ['primes'],
        pid: 0,
        version: 'seed 000 text protocol',
        legacy: true,
        telemetry: {},
      },
      {
        ack: (tokens, duplicates) => {
          this.stats.accepted += tokens.length - duplicates;
          this.stats.duplicates += duplicates;
        },
        revoke: (tokens) => {
          if (!this.stopped && client.lease && tokens.includes(client.lease.token)) client.revoked = true;
        },
        reject: (err) => this.drop(client, `internal error: ${err.message}`),
        replaced: () => this.drop(client, 'replaced'),
      },
    );
    const client: TextClient = {
      id,
      remote,
      instance,
      socket,
      session,
      state: 'waiting',
      lease: null,
      revoked: false,
      checker: null,
      computed: null,
      leasedAt: 0,
      lastReport: now,
      waitingSince: now,
      blanks: 0,
      lastByte: now,
      check: null,
      held: null,
    };
    this.clients.set(id, client);
    socket.setKeepAlive(true, 30_000);
    // once a minute per address: a flood of connections must not flood the log and the dashboards' events
    this.o.warn(`connect ${remote}`, `seed 000 client ${remote} connected (node ${id})`, 'info');
    socket.on('data', (buf: Buffer) => this.onData(client, buf));
    socket.on('close', () => this.drop(client, null));
    this.assign(client);
  }

  private onData(c: TextClient, buf: Buffer): void {
    c.lastByte = this.head.clock.now();
    try {
      this.read(c, buf);
    } catch (err) {
      // nothing a client sends may take the head down: log it, close the client, return its chunk
      this.head.log.error({ err, node: c.id }, 'seed 000 client handler failed');
      this.drop(c, `internal error: ${(err as Error).message}`);
    }
  }

  private read(c: TextClient, buf: Buffer): void {
    let rest: Buffer = buf;
    while (rest.length > 0 && c.state !== 'closed') {
      if (c.state === 'waiting' || !c.lease) {
        for (const b of rest) {
          if (!BLANK.has(b)) {
            this.drop(c, 'sent data before it was given a chunk', `early ${c.remote}`);
            return;
          }
          if (++c.blanks > this.o.maxBlanks) {
            this.stats.blankFloods++;
            this.drop(c, `sent more than ${this.o.maxBlanks} blank characters while it had no chunk`, `blanks ${c.remote}`);
            return;
          }
        }
        return;
      }
      const lease = c.lease;
      if (!c.checker) {
        const chunk = { index: lease.index, start: lease.start, end: lease.end };
        c.checker = new AnswerChecker(chunk, c.revoked ? null : 'later');
      }
      const r = c.checker.push(rest);
      if (r === null) return;
      if ('need' in r) {
        this.check(c, lease, rest.subarray(r.used));
        return;
      }
      if (!r.verdict.ok) {
        this.stats.refused++;
        this.drop(c, `refused its answer for job ${lease.jobId} chunk ${lease.index} [${lease.start}, ${lease.end}]: ${r.verdict.reason}`);
        return;
      }
      this.completed(c, lease);
      rest = rest.subarray(r.used);
    }
  }

  /**
   * The exact primes of the leased chunk, computed once the client has sent a matching JobID, on the
   * check pool (off the event loop, within its address's budget). The socket is paused meanwhile
   * (back-pressure); `rest` is what was read past the JobID.
   */
  private check(c: TextClient, lease: Assignment, rest: Buffer): void {
    c.socket.pause();
    c.held = rest.length > 0 ? rest : null;
    const job = this.o.pool.check(c.remote, lease.start, lease.end);
    c.check = job;
    job.done.then(
      (out) => {
        if (c.check !== job || c.state === 'closed' || c.lease !== lease || !c.checker) return;
        c.check = null;
        c.computed = out;
        c.checker.provide(primeListText(lease.start, out.output ?? new Uint8Array(0)));
        const held = c.held;
        c.held = null;
        c.lastByte = this.head.clock.now();
        c.socket.resume();
        if (held) this.onData(c, held);
      },
      (err: unknown) => {
        if (c.check !== job || c.state === 'closed') return;
        c.check = null;
        this.drop(c, `its answer for job ${lease.jobId} chunk ${lease.index} could not be checked: ${(err as Error).message}`);
      },
    );
  }

  private completed(c: TextClient, lease: Assignment): void {
    const computed = c.computed;
    const revoked = c.revoked;
    c.lease = null;
    c.checker = null;
    c.computed = null;
    c.revoked = false;
    c.state = 'waiting';
    c.waitingSince = this.head.clock.now();
    c.blanks = 0;
    if (revoked || !computed) {
      this.stats.duplicates++;
      this.head.log.debug({ node: c.id, job: lease.jobId, chunk: lease.index }, 'seed 000 answer for a finished chunk dropped');
    } else {
      // the same group commit as a native worker's result; the ack counts it accepted or duplicate
      c.session.result({ token: lease.token, jobId: lease.jobId, index: lease.index, span: lease.span, summary: computed.summary, output: computed.output });
      this.head.log.debug({ node: c.id, job: lease.jobId, chunk: lease.index }, 'seed 000 answer');
    }
    c.session.report({});
    c.lastReport = this.head.clock.now();
    this.assign(c);
  }

  /**
   * Closes a client (reason null: it left by itself) and returns its chunk to the queue at once.
   * With `limitKey` the warning is rate-limited (floods: blank lines, idle and evicted connections).
   */
  private drop(c: TextClient, reason: string | null, limitKey?: string): void {
    if (c.state === 'closed') return;
    const had = c.lease;
    c.state = 'closed';
    c.lease = null;
    c.check?.cancel();
    c.check = null;
    c.held = null;
    this.clients.delete(c.id);
    c.socket.destroy();
    const released = c.session.leave('drained');
    const returned = released > 0 && had ? `; chunk ${had.index} of job ${had.jobId} returned to the queue` : '';
    if (reason !== null && limitKey !== undefined) this.o.warn(limitKey, `closed seed 000 client ${c.remote} (node ${c.id}): ${reason}${returned}`);
    else if (reason !== null) this.head.event('warn', 'compat', `closed seed 000 client ${c.remote} (node ${c.id}): ${reason}${returned}`, { node: c.id });
    else if (returned) this.head.event('warn', 'compat', `seed 000 client ${c.remote} left (node ${c.id})${returned}`, { node: c.id });
    else this.o.warn(`left ${c.remote}`, `seed 000 client ${c.remote} left (node ${c.id})`, 'info');
  }

  // ---- chunks ----

  private suitable(job: JobRecord): boolean {
    return job.task === 'primes' && job.params['list'] === true && (this.o.job === null || job.id === this.o.job) && job.chunk <= this.o.maxChunk;
  }

  /**
   * The job the ledger would lease from next: the first unfinished job with a chunk to give, by
   * priority then submission order (the ledger's own order).
   */
  private nextJob(): JobRecord | null {
    const jobs = [...this.head.activeJobs()].sort((a, b) => b.priority - a.priority || a.seq - b.seq);
    for (const j of jobs) if (this.head.counts(j.id).pending > 0) return j;
    return null;
  }

  private assign(c: TextClient): void {
    if (c.state !== 'waiting' || c.lease || this.stopped) return;
    const [a] = c.session.lease(1, (job) => this.suitable(job));
    if (!a) {
      const next = this.nextJob();
      if (next && !this.suitable(next)) this.warnJob(next);
      return;
    }
    c.lease = a;
    c.revoked = false;
    c.checker = null;
    c.computed = null;
    c.state = 'computing';
    c.leasedAt = this.head.clock.now();
    c.lastByte = c.leasedAt;
    c.socket.write(`${a.index}:${a.start}:${a.end}\n`);
    this.head.log.debug({ node: c.id, job: a.jobId, chunk: a.index }, 'seed 000 chunk sent');
  }

  private warnJob(job: JobRecord): void {
    if (this.warnedJobs.has(job.id)) return;
    if (this.warnedJobs.size > 1000) this.warnedJobs.clear();
    this.warnedJobs.add(job.id);
    const why =
      job.task !== 'primes' || job.params['list'] !== true
        ? 'they take only primes jobs submitted with --list'
        : this.o.job !== null && job.id !== this.o.job
          ? `they take only job ${this.o.job} (--compat-job)`
          : `its chunks of ${job.chunk} numbers are wider than ${this.o.maxChunk} (submit with a smaller --chunk)`;
    this.head.event('info', 'compat', `seed 000 clients wait while job ${job.id} (${job.task}) runs: ${why}`, { job: job.id });
  }

  private schedulePoll(): void {
    if (this.pollScheduled || this.stopped) return;
    this.pollScheduled = true;
    setImmediate(() => {
      this.pollScheduled = false;
      this.guard('poll', () => this.poll());
    });
  }

  /** Runs a timer's work; an error is logged, never thrown out of a timer (it would end the head). */
  private guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.head.log.error({ err }, `seed 000 ${what} failed`);
    }
  }

  /**
   * Hands out work to waiting clients, round-robin over their addresses, the address that holds the
   * fewest chunks (then connections) first (issue 17, item 20): a flood of connections from a few
   * addresses cannot take every chunk before a real client on another address gets one.
   */
  private poll(): void {
    const held = new Map<string, number>();
    const conns = new Map<string, number>();
    const waiting = new Map<string, TextClient[]>();
    for (const c of this.clients.values()) {
      conns.set(c.remote, (conns.get(c.remote) ?? 0) + 1);
      if (c.state === 'computing') held.set(c.remote, (held.get(c.remote) ?? 0) + 1);
      else if (c.state === 'waiting') {
        const list = waiting.get(c.remote);
        if (list) list.push(c);
        else waiting.set(c.remote, [c]);
      }
    }
    if (waiting.size === 0) return;
    const addresses = [...waiting.keys()].sort((a, b) => (held.get(a) ?? 0) - (held.get(b) ?? 0) || (conns.get(a) ?? 0) - (conns.get(b) ?? 0));
    for (const list of waiting.values()) list.sort((a, b) => a.waitingSince - b.waitingSince);
    for (let round = 0, more = true; more; round++) {
      more = false;
      for (const addr of addresses) {
        const c = (waiting.get(addr) as TextClient[])[round];
        if (!c) continue;
        more = true;
        this.assign(c);
        if (c.state === 'waiting' && !this.stopped) return; // no work left for seed 000 clients
      }
    }
  }

  /**
   * When the listener is full (issue 17, item 20): closes one client of the address that holds the
   * most connections, so that a flood of idle connections cannot shut a real client out: a waiting
   * one (no chunk) before one that holds a chunk but has not begun its answer (its chunk returns to
   * the queue), the oldest first. A client whose answer is being read or checked is never evicted.
   */
  private evictOne(): boolean {
    const per = new Map<string, number>();
    for (const c of this.clients.values()) per.set(c.remote, (per.get(c.remote) ?? 0) + 1);
    let victim: TextClient | null = null;
    let best: [number, number, number] = [0, 0, 0];
    for (const c of this.clients.values()) {
      let key: [number, number, number];
      if (c.state === 'waiting') key = [per.get(c.remote) ?? 0, 1, -c.waitingSince];
      else if (c.state === 'computing' && c.checker === null && c.check === null) key = [per.get(c.remote) ?? 0, 0, -c.leasedAt];
      else continue;
      if (victim === null || key[0] > best[0] || (key[0] === best[0] && (key[1] > best[1] || (key[1] === best[1] && key[2] > best[2])))) {
        victim = c;
        best = key;
      }
    }
    if (!victim) return false;
    this.stats.evicted++;
    const what = victim.state === 'waiting' ? 'it had no chunk' : `it had not begun its answer to chunk ${victim.lease?.index}`;
    this.drop(victim, `closed to make room for a new connection: ${this.o.maxConnections} are open (--compat-max-connections), ${per.get(victim.remote)} of them from its address, and ${what}`, `evicted ${victim.remote}`);
    return true;
  }

  /** Heartbeats leases of connected clients, times out silent ones, keeps tiles fresh, hands out work. */
  private tick(): void {
    const now = this.head.clock.now();
    const idleS = Math.round(this.o.idleMs / 1000);
    for (const c of [...this.clients.values()]) {
      if (c.state === 'waiting' && now - c.waitingSince > this.o.idleMs) {
        this.stats.idleClosed++;
        this.drop(c, `it had no chunk for ${idleS} s (--compat-idle-s)`, `idle ${c.remote}`);
        continue;
      }
      if (c.state === 'computing') {
        if (now - c.leasedAt > this.o.timeoutMs) {
          this.stats.timeouts++;
          this.drop(c, `no answer to chunk ${c.lease?.index} within ${Math.round(this.o.timeoutMs / 1000)} s (--compat-timeout-ms)`, `timeout ${c.remote}`);
          continue;
        }
        if (c.checker && c.check === null && now - c.lastByte > this.o.idleMs) {
          this.stats.idleClosed++;
          this.drop(c, `its answer to chunk ${c.lease?.index} stopped for ${idleS} s (--compat-idle-s)`, `idle ${c.remote}`);
          continue;
        }
        c.session.heartbeat();
      }
      if (now - c.lastReport >= 5000) {
        c.lastReport = now;
        c.session.report({});
      }
    }
    this.poll();
  }
}
