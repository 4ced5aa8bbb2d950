import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { LinkEnd } from '../net/index.js';
import { TrustError, connectFramed } from '../net/index.js';
import type { AssignedChunk, Message, MessageOf } from '../protocol/index.js';
import { LIFE_STRIPS, MAX_WINDOW, PROTOCOL_VERSION, isLifeMessage } from '../protocol/index.js';
import type { Task } from '../tasks/index.js';
import { MODULE_CAPABILITY, ProcessSandbox, findTask, taskNames } from '../tasks/index.js';
import type { FetchedCode } from './code-cache.js';
import { CodeCache } from './code-cache.js';
import { authProof } from '../trust/index.js';
import { ExecRunner } from './exec-runner.js';
import { LifeParts } from './life-parts.js';
import { SlotPool } from './slot-pool.js';
import type { SlotReply } from './slot-thread.js';
import { TelemetrySampler, localAddresses } from './telemetry.js';

/**
 * Lifecycle of a worker agent:
 * - `connecting`: dialling the head (with backoff after a failure)
 * - `ready`: authenticated, taking chunks
 * - `draining`: finishing running chunks, taking no more
 * - `stopped`
 */
export type WorkerState = 'connecting' | 'ready' | 'draining' | 'stopped';

export interface WorkerAgentOptions {
  host: string;
  port: number;
  /** Pinned CA hash from the join token; null for an `--insecure` head. */
  caHash: string | null;
  /** Cluster secret from the join token; null for an `--insecure` head. */
  secret: string | null;
  slots: number;
  name: string;
  instance: number;
  /** Stable id of this worker instance (survives reconnects). */
  node?: string;
  prefetch?: number;
  logger: Logger;
  version?: string;
  maxBackoffMs?: number;
  /** Run task modules (`--allow-code`) and commands (`--allow-exec`) the head's admin submits. */
  allowCode?: boolean;
  allowExec?: boolean;
  /** Where shipped code, job working directories and sandbox scratch live (default: a temp dir). */
  codeDir?: string;
  /** Per-chunk CPU seconds and heap MiB of a task module's sandbox. */
  codeCpuSeconds?: number;
  codeMemoryMb?: number;
  /**
   * Every head candidate (HA, docs/ha.md): tried in turn until one welcomes this worker; only the
   * leader listens on the worker port. Default: just host:port.
   */
  heads?: { host: string; port: number }[];
  /**
   * How to reach the head instead of dialling host:port: `bramble run` passes the in-process link of
   * its own head (`Head.acceptLocal`), so the same handshake and sessions run without a socket.
   */
  connect?: () => Promise<LinkEnd>;
  /** Slot threads started earlier (`bramble run` starts them before loading the head's modules). */
  pool?: SlotPool;
  /** Threads for Life parts started earlier (`bramble run life`: worker/life-parts.ts, startLifeThreads). */
  lifeThreads?: Worker[];
}

/** The worker switch that lets it run what a task needs. */
const SWITCH: Record<string, string> = { module: '--allow-code', exec: '--allow-exec' };

/** Outputs above this fail their chunk: the frame limit is 16 MiB, leave room for the rest. */
const MAX_OUTPUT_BYTES = 15 * 1024 * 1024;

interface Running {
  chunk: AssignedChunk;
  runId: number | null;
  /** Part of a batch of short chunks: a cancel drops its result instead of stopping the slot. */
  batched: boolean;
  /** Users' code running in this process's care (commands, sandboxed modules): a cancel aborts it. */
  abort?: AbortController;
}

export class WorkerAgent {
  state: WorkerState = 'connecting';
  readonly node: string;
  private pool: SlotPool;
  /** Strips of distributed Life jobs held here (worker/life-parts.ts). */
  private readonly life: LifeParts;
  private link: LinkEnd | null = null;
  private readonly queue: AssignedChunk[] = [];
  private readonly running = new Map<string, Running>();
  /** Results computed but not yet acknowledged: resent after a reconnect. */
  private readonly unacked = new Map<string, MessageOf<'result'>>();
  private timers: NodeJS.Timeout[] = [];
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private telemetryTimer: NodeJS.Timeout | null = null;
  private backoffMs = 250;
  private readonly sampler = new TelemetrySampler();
  private chunksDone = 0;
  /** Recent compute time per chunk (ms), for batching tiny chunks. */
  private avgChunkMs: number | null = null;
  private numbersDone = 0n;
  private rateWindow: { t: number; n: bigint }[] = [];
  private stopResolve: (() => void) | null = null;
  private lastWant = -1;
  private readonly log: Logger;
  /** Commands run for the head: only with --allow-exec. */
  private readonly exec: ExecRunner | null;
  /** What this worker's owner allowed: `module`, `exec`. */
  private readonly caps: Set<string>;
  /** Chunks of users' code running outside the slot threads (each takes a slot). */
  private hosted = 0;
  private readonly jobDirs = new Set<string>();
  private codeKey: string | null = null;
  private code: CodeCache | null = null;
  private sandbox: ProcessSandbox | null = null;
  private readonly codeWaits = new Map<string, { pieces: Uint8Array[]; got: number; resolve: (c: FetchedCode) => void; reject: (e: Error) => void }>();
  private readonly heads: { host: string; port: number }[];
  private nextHead = 0;
  /** Highest leadership epoch seen in a welcome: a head announcing a lower one is a deposed leader. */
  private epoch = -1n;
  /** Heartbeats sent since the head last said anything. */
  private unanswered = 0;

  constructor(private readonly o: WorkerAgentOptions) {
    this.node = o.node ?? `${os.hostname()}#${o.instance}-${randomUUID().slice(0, 8)}`;
    this.pool = o.pool ?? new SlotPool(o.slots);
    this.life = new LifeParts((m) => this.link?.conn.send(m), o.lifeThreads);
    this.log = o.logger.child({ worker: o.name });
    this.exec = o.allowExec ? new ExecRunner({ node: this.node, log: this.log, send: (m) => this.link?.conn.send(m) }) : null;
    this.heads = o.heads && o.heads.length > 0 ? o.heads : [{ host: o.host, port: o.port }];
    this.caps = new Set([...(o.allowCode ? [MODULE_CAPABILITY] : []), ...(o.allowExec ? ['exec'] : [])]);
  }

  /** Cache hits and transfers of shipped code (also in the log). */
  get codeStats(): { hits: number; transfers: number; bytes: number } {
    return { ...(this.code?.stats ?? { hits: 0, transfers: 0, bytes: 0 }) };
  }

  /** Task names and capabilities this worker announces: tasks needing a switch only when it is on. */
  private announced(): string[] {
    const names = taskNames().filter((n) => {
      if (n.includes(':')) return false; // a loaded task module (`module:HASH`): covered by `module`
      const need = findTask(n)?.needs;
      return !need || this.caps.has(need);
    });
    return [...new Set([...names, ...this.caps])];
  }

  private codeDir(): string {
    return this.o.codeDir ?? path.join(os.tmpdir(), `bramble-code-${process.getuid?.() ?? 0}`, `${this.o.name}-${this.o.instance}`.replace(/[^\w.-]/g, '_'));
  }

  start(): void {
    this.connectLoop().catch((err: unknown) => this.log.error({ err }, 'connect loop failed'));
    const live = setInterval(() => {
      this.log.info({ state: this.state, chunksDone: this.chunksDone, running: this.running.size, unacked: this.unacked.size }, 'worker alive');
    }, 60_000);
    live.unref();
    this.timers.push(live);
  }

  private async connectLoop(): Promise<void> {
    let failures = 0;
    while (this.state !== 'stopped' && this.state !== 'draining') {
      const head = this.heads[this.nextHead % this.heads.length] as { host: string; port: number };
      // the next try goes to the next candidate; a whole round of failures backs off
      this.nextHead = (this.nextHead + 1) % this.heads.length;
      try {
        // a stopped head's kernel still accepts TCP: a short handshake limit when there are others to try
        const link = this.o.connect ? await this.o.connect() : await connectFramed({ host: head.host, port: head.port, caHash: this.o.caHash, ...(this.heads.length > 1 ? { connectTimeoutMs: 3000 } : {}) });
        if (await this.session(link, head)) {
          this.backoffMs = 250;
          failures = 0;
          this.nextHead = (this.nextHead + this.heads.length - 1) % this.heads.length; // retry the one that served us first
        } else failures++;
      } catch (err) {
        failures++;
        if (err instanceof TrustError) {
          this.log.error({ err: err.message }, 'refusing the head');
        } else {
          this.log.warn({ err: (err as Error).message, retryMs: this.backoffMs }, 'head unreachable');
        }
      }
      if ((this.state as WorkerState) === 'stopped' || (this.state as WorkerState) === 'draining') break;
      this.state = 'connecting';
      if (failures > 0 && failures % this.heads.length !== 0) {
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      const wait = this.backoffMs * (0.75 + Math.random() * 0.5);
      // with several head candidates, a failover is expected: keep trying about once a second (the
      // default --ha-retry-ms), so a new leader's workers are back within a second of its election
      this.backoffMs = Math.min(this.backoffMs * 2, this.o.maxBackoffMs ?? (this.heads.length > 1 ? 1000 : 5000));
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  /** One connection's life: challenge, hello, welcome, then serve until it closes. True when it was welcomed. */
  private session(link: LinkEnd, head: { host: string; port: number }): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const { conn } = link;
      let welcomed = false;
      conn.on('close', (err) => {
        this.link = null;
        this.exec?.killAll(); // nobody is left to read their output or stop them
        if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
        if (this.telemetryTimer) clearInterval(this.telemetryTimer);
        // chunks not started were returned by the head when we went away
        this.queue.length = 0;
        for (const w of this.codeWaits.values()) w.reject(new Error('the connection to the head closed while fetching code'));
        this.codeWaits.clear();
        this.life.dropAll();
        if (this.state === 'stopped') return resolve(welcomed);
        if (welcomed) this.log.warn({ err: err?.message }, 'disconnected from head');
        else if (err) this.log.warn({ err: err.message }, 'head closed the connection');
        resolve(welcomed);
      });
      conn.on('message', (msg: Message) => {
        this.unanswered = 0;
        if (!welcomed) {
          if (msg.type === 'challenge') {
            // in process (`bramble run`), the head shares this machine: its telemetry follows the
            // welcome instead of holding up the hello (a first sample spawns vcgencmd, tens of ms)
            const sample = this.o.connect ? Promise.resolve({}) : this.sampler.sample();
            void sample.then((t) => {
              const proof = this.o.secret ? authProof(this.o.secret, msg.nonce, this.node, link.binding) : undefined;
              conn.send({
                ...t,
                type: 'hello',
                version: PROTOCOL_VERSION,
                node: this.node,
                name: this.o.name,
                instance: this.o.instance,
                hostname: os.hostname(),
                addresses: localAddresses(),
                slots: this.o.slots,
                kernels: [...this.announced(), LIFE_STRIPS],
                pid: process.pid,
                version_text: this.o.version,
                allowExec: this.exec !== null,
                ...(proof ? { proof } : {}),
              });
            });
            return;
          }
          if (msg.type === 'welcome') {
            const epoch = msg.epoch === undefined ? null : BigInt(msg.epoch);
            if (epoch !== null && epoch < this.epoch) {
              this.log.warn({ epoch: msg.epoch, seen: this.epoch.toString() }, 'refusing a deposed leader (lower epoch than one already seen)');
              conn.fail(new Error(`head epoch ${msg.epoch} is older than ${this.epoch}`));
              return;
            }
            if (epoch !== null) this.epoch = epoch;
            welcomed = true;
            this.link = link;
            this.codeKey = msg.codeKey ?? null;
            this.state = 'ready';
            this.log.info({ head: `${head.host}:${head.port}`, epoch: msg.epoch, slots: this.o.slots }, 'joined head');
            for (const r of this.unacked.values()) conn.send(r);
            this.heartbeatTimer = setInterval(() => this.heartbeat(), msg.heartbeatMs);
            this.unanswered = 0;
            this.telemetryTimer = setInterval(() => void this.telemetry(), msg.telemetryMs);
            if (this.o.connect) setTimeout(() => void this.telemetry(), 200).unref();
            this.lastWant = -1;
            this.want();
            return;
          }
          if (msg.type === 'error') return; // logged on close
          conn.fail(new Error(`expected challenge or welcome, got ${msg.type}`));
          return;
        }
        this.onMessage(msg);
      });
    });
  }

  private onMessage(msg: Message): void {
    if (isLifeMessage(msg)) return this.life.handle(msg);
    switch (msg.type) {
      case 'assign':
        for (const c of msg.chunks) this.queue.push(c);
        this.pump();
        this.want();
        break;
      case 'ack':
        for (const t of msg.tokens) this.unacked.delete(t);
        break;
      case 'code':
        this.onCode(msg);
        break;
      case 'cancel':
        for (const t of msg.tokens) {
          const k = this.queue.findIndex((c) => c.token === t);
          if (k >= 0) this.queue.splice(k, 1);
          const r = this.running.get(t);
          if (r && r.runId !== null && !r.batched) this.pool.cancel(r.runId);
          r?.abort?.abort();
          this.running.delete(t);
          this.unacked.delete(t);
        }
        this.pump();
        this.want();
        break;
      case 'exec-open':
        if (this.exec) this.exec.open(msg);
        else this.link?.conn.send({ type: 'exec-exit', ch: msg.ch, code: null, signal: null, error: `worker ${this.o.name} does not run commands (start it with --allow-exec)` });
        break;
      case 'exec-ack':
        this.exec?.ack(msg.ch, msg.bytes);
        break;
      case 'exec-kill':
        this.exec?.kill(msg.ch);
        break;
      case 'error':
        break;
      default:
        this.link?.conn.fail(new Error(`unexpected ${msg.type} message from head`));
    }
  }

  /**
   * Chunks this worker holds at most: its slots plus the prefetch; when chunks take under 2 ms, at
   * least 64 per slot, so a round trip to the head (and its commit) never leaves the slots idle.
   */
  private room(): number {
    const prefetch = this.o.prefetch ?? 1;
    const tiny = this.avgChunkMs !== null && this.avgChunkMs < 2;
    return Math.min(MAX_WINDOW, this.o.slots + (tiny ? Math.max(prefetch, 64 * this.o.slots) : prefetch));
  }

  /**
   * Tells the head this worker's window (how many chunks it can hold) when it changes. The head keeps
   * the window full as results come back; no per-chunk asking.
   */
  private want(): void {
    const n = this.state === 'ready' ? this.room() : 0;
    if (!this.link || n === this.lastWant) return;
    this.lastWant = n;
    this.link.conn.send({ type: 'want', n });
  }

  /**
   * Chunks per slot message: 1, unless chunks have been finishing in well under a millisecond; then
   * a slot takes its share of the queue at once (one thread round trip for many tiny chunks).
   */
  private batchSize(): number {
    if (this.avgChunkMs === null || this.avgChunkMs > 0.5) return 1;
    return Math.min(32, Math.max(1, Math.ceil(this.queue.length / Math.max(1, this.pool.free))));
  }

  private pump(): void {
    while (this.queue.length > 0 && this.pool.free - this.hosted > 0) {
      const first = this.queue[0] as AssignedChunk;
      const task = findTask(first.task);
      if (task?.execute) {
        this.queue.shift();
        this.runHosted(first, task);
        continue;
      }
      const n = this.batchSize();
      let k = 1;
      while (k < n && k < this.queue.length && !findTask((this.queue[k] as AssignedChunk).task)?.execute) k++;
      const chunks = this.queue.splice(0, k);
      const entries: Running[] = chunks.map((chunk) => ({ chunk, runId: null, batched: chunks.length > 1 }));
      for (const e of entries) this.running.set(e.chunk.token, e);
      const { id, done } = this.pool.run(chunks.map((c) => ({ job: c.job, task: c.task, params: c.params, start: c.start, end: c.end })));
      for (const e of entries) e.runId = id;
      void done.then((replies) => {
        entries.forEach((entry, k) => this.finished(entry, replies[k] ?? { ok: false, error: 'no reply from the slot' }));
        this.pump();
        this.want();
        if (this.state === 'draining' && this.running.size === 0) this.finishDrain();
      });
    }
  }

  /** A piece of shipped code from the head. */
  private onCode(msg: MessageOf<'code'>): void {
    const w = this.codeWaits.get(msg.hash);
    if (!w) return;
    if (msg.error) {
      this.codeWaits.delete(msg.hash);
      return w.reject(new Error(msg.error));
    }
    w.pieces.push(msg.bytes);
    w.got += msg.bytes.length;
    if (w.got >= msg.total) {
      this.codeWaits.delete(msg.hash);
      w.resolve({ bytes: Buffer.concat(w.pieces), signature: msg.signature });
    }
  }

  private fetchCode(hash: string): Promise<FetchedCode> {
    return new Promise<FetchedCode>((resolve, reject) => {
      if (!this.link) return reject(new Error('not connected to the head'));
      this.codeWaits.set(hash, { pieces: [], got: 0, resolve, reject });
      this.link.conn.send({ type: 'code_request', hash });
    });
  }

  /** Runs a chunk of users' code (a command, a sandboxed module) in this process's care. */
  private runHosted(chunk: AssignedChunk, task: Task): void {
    const entry: Running = { chunk, runId: null, batched: false, abort: new AbortController() };
    this.running.set(chunk.token, entry);
    this.hosted++;
    const t0 = performance.now();
    const run = async (): Promise<SlotReply> => {
      if (task.needs && !this.caps.has(task.needs)) throw new Error(`this worker does not run ${task.needs} tasks (start it with ${SWITCH[task.needs] ?? task.needs})`);
      const dir = this.codeDir();
      this.code ??= new CodeCache(path.join(dir, 'cache'));
      const cache = this.code;
      for (const hash of task.code?.(chunk.params) ?? []) {
        const how = await cache.ensure(hash, this.codeKey, (h) => this.fetchCode(h));
        if (how === 'fetched') this.log.info({ hash, transfers: cache.stats.transfers, hits: cache.stats.hits, bytes: cache.stats.bytes }, 'code fetched from the head');
      }
      const workDir = path.join(dir, 'jobs', chunk.job.replace(/[^\w.-]/g, '_'));
      if (!this.jobDirs.has(workDir)) {
        mkdirSync(workDir, { recursive: true, mode: 0o700 });
        this.jobDirs.add(workDir);
      }
      this.sandbox ??= new ProcessSandbox({ dir: path.join(dir, 'sandbox'), cpuSeconds: this.o.codeCpuSeconds ?? 300, memoryMb: this.o.codeMemoryMb ?? 512 });
      const sandbox = this.sandbox;
      const r = await task.execute!(chunk.params, BigInt(chunk.start), BigInt(chunk.end), {
        job: chunk.job,
        index: chunk.index,
        codePath: (h) => cache.path(h),
        workDir,
        signal: (entry.abort as AbortController).signal,
        sandbox,
      });
      return { ok: true, summary: r.summary, output: r.output, ms: performance.now() - t0 };
    };
    void run()
      .catch((err: unknown): SlotReply => ({ ok: false, error: err instanceof Error ? err.message : String(err) }))
      .then((reply) => {
        this.hosted--;
        this.finished(entry, reply.ok || !entry.abort?.signal.aborted ? reply : { ok: false, error: 'cancelled' });
        this.pump();
        this.want();
        if (this.state === 'draining' && this.running.size === 0) this.finishDrain();
      });
  }

  private finished(entry: Running, reply: SlotReply): void {
    const chunk = entry.chunk;
    if (this.running.get(chunk.token) !== entry) return; // cancelled
    this.running.delete(chunk.token);
    if (reply.ok && reply.output && reply.output.length > MAX_OUTPUT_BYTES) {
      // would not fit a frame: fail the chunk (with a clear reason) rather than the connection
      const error = `the chunk's output is ${reply.output.length} bytes, over the ${MAX_OUTPUT_BYTES}-byte frame budget: use a smaller --chunk`;
      this.log.warn({ job: chunk.job, chunk: chunk.index }, error);
      this.link?.conn.send({ type: 'fail', token: chunk.token, job: chunk.job, index: chunk.index, error });
    } else if (reply.ok) {
      this.chunksDone++;
      this.avgChunkMs = this.avgChunkMs === null ? reply.ms : 0.8 * this.avgChunkMs + 0.2 * reply.ms;
      this.numbersDone += BigInt(chunk.end) - BigInt(chunk.start) + 1n;
      const msg: MessageOf<'result'> = { type: 'result', token: chunk.token, job: chunk.job, index: chunk.index, span: chunk.span, summary: reply.summary, output: reply.output as Uint8Array<ArrayBuffer> | null, ms: reply.ms };
      this.unacked.set(chunk.token, msg);
      this.link?.conn.send(msg);
    } else if (reply.error !== 'cancelled') {
      this.log.warn({ job: chunk.job, chunk: chunk.index, err: reply.error }, 'chunk failed');
      this.link?.conn.send({ type: 'fail', token: chunk.token, job: chunk.job, index: chunk.index, error: reply.error.slice(0, 4000) });
    }
  }

  private heartbeat(): void {
    // the head answers every heartbeat: three unanswered mean it is stopped or cut off, though its
    // kernel may keep the TCP connection open; counted in heartbeats sent, not in time, so a pause
    // of this worker itself (SIGSTOP, a long GC) is not mistaken for a silent head
    if (++this.unanswered > 3 && this.link) {
      this.log.warn({ unanswered: this.unanswered - 1 }, 'head silent: reconnecting');
      this.link.conn.destroy();
      return;
    }
    const tokens = [...this.running.keys(), ...this.queue.map((c) => c.token)];
    this.link?.conn.send({ type: 'heartbeat', tokens });
  }

  private rate(): number {
    const now = Date.now();
    this.rateWindow.push({ t: now, n: this.numbersDone });
    while (this.rateWindow.length > 2 && now - (this.rateWindow[0] as { t: number }).t > 30_000) this.rateWindow.shift();
    const first = this.rateWindow[0] as { t: number; n: bigint };
    const dt = (now - first.t) / 1000;
    return dt > 0 ? Number(this.numbersDone - first.n) / dt : 0;
  }

  private async telemetry(): Promise<void> {
    const t = await this.sampler.sample();
    this.link?.conn.send({ ...t, type: 'telemetry', chunksDone: this.chunksDone, rate: this.rate(), busy: this.running.size });
  }

  /** Finishes running chunks, takes no more, then stops. */
  drain(): Promise<void> {
    if (this.state === 'stopped') return Promise.resolve();
    this.state = 'draining';
    this.queue.length = 0;
    this.link?.conn.send({ type: 'drain' });
    return new Promise<void>((resolve) => {
      this.stopResolve = resolve;
      if (this.running.size === 0) this.finishDrain();
    });
  }

  private finishDrain(): void {
    // give the last results a moment to be acknowledged
    const deadline = Date.now() + 3000;
    const check = (): void => {
      if (this.unacked.size === 0 || Date.now() > deadline || !this.link) void this.stop().then(() => this.stopResolve?.());
      else setTimeout(check, 50);
    };
    check();
  }

  async stop(): Promise<void> {
    this.state = 'stopped';
    this.exec?.killAll();
    for (const t of this.timers) clearInterval(t);
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.telemetryTimer) clearInterval(this.telemetryTimer);
    this.link?.conn.close();
    this.sandbox?.close();
    this.life.dropAll();
    await this.pool.close();
  }
}
