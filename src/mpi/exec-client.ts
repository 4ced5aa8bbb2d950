import { EventEmitter } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import { BrambleError } from '../core/index.js';
import type { FramedConnection as FramedConnectionType } from '../net/index.js';
import { FramedConnection } from '../net/index.js';
import type { Message, MessageOf } from '../protocol/index.js';

/** Where the head's API is and how to prove we may use it (the CLI resolves it as for every API command). */
export interface HeadApi {
  url: string;
  token: string;
  /** PEM of the cluster CA the head's certificate must chain to; null for an --insecure head (http). */
  ca: string | null;
}

export interface ExecExit {
  code: number | null;
  signal: string | null;
  error?: string;
  lost?: boolean;
}

export interface ExecChannelEvents {
  data: [fd: 1 | 2, data: Buffer, ack: () => void];
  exit: [ExecExit];
}

/** One remote command: its output (acknowledge each piece once written) and its end. */
export class ExecChannel extends EventEmitter<ExecChannelEvents> {
  ended = false;
  constructor(
    readonly ch: number,
    private readonly client: ExecClient,
  ) {
    super();
  }
  kill(): void {
    if (!this.ended) this.client.send({ type: 'exec-kill', ch: this.ch });
  }
}

export interface ExecOpenOptions {
  node: string;
  run: string;
  cmd: string;
  files?: MessageOf<'exec-open'>['files'];
  env?: Record<string, string>;
  label?: string;
}

/**
 * A client's connection to the head for remote commands: `GET /api/exec/connect` upgraded to framed
 * MessagePack (the worker wire's codec and bounds), many channels over it. Closing it kills every
 * command it started, on every worker.
 */
export class ExecClient {
  private readonly channels = new Map<number, ExecChannel>();
  private nextCh = 1;
  private closed = false;
  readonly closedPromise: Promise<Error | undefined>;

  private constructor(private readonly conn: FramedConnectionType) {
    conn.on('message', (msg) => this.onMessage(msg));
    this.closedPromise = new Promise((resolve) =>
      conn.on('close', (err) => {
        this.closed = true;
        for (const c of this.channels.values()) {
          c.ended = true;
          c.emit('exit', { code: null, signal: null, error: `the connection to the head closed${err ? `: ${err.message}` : ''}` });
        }
        this.channels.clear();
        resolve(err);
      }),
    );
  }

  static connect(api: HeadApi, timeoutMs = 10_000): Promise<ExecClient> {
    const u = new URL(api.url + '/api/exec/connect');
    const secure = u.protocol === 'https:';
    return new Promise((resolve, reject) => {
      const req = (secure ? https : http).request(u, {
        method: 'GET',
        headers: { connection: 'Upgrade', upgrade: 'bramble-exec', authorization: `Bearer ${api.token}` },
        ...(secure ? { ca: api.ca ?? undefined } : {}),
        timeout: timeoutMs,
      });
      req.on('upgrade', (_res, socket: net.Socket, rest: Buffer) => {
        socket.setTimeout(0);
        const conn = new FramedConnection(socket);
        if (rest.length > 0) socket.unshift(rest);
        resolve(new ExecClient(conn));
      });
      req.on('response', (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => reject(new BrambleError('EXEC_REFUSED', `the head refused the exec connection (HTTP ${res.statusCode ?? '?'}): ${Buffer.concat(parts).toString('utf8').trim().slice(0, 300)}`)));
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', (err) => reject(new BrambleError('CONNECTION', `cannot reach the head at ${api.url}: ${err.message}`, { cause: err })));
      req.end();
    });
  }

  send(msg: Message): void {
    this.conn.send(msg);
  }

  /**
   * Mirrors the launcher's output (and at last its exit status) to the head for the dashboard. Lossy
   * by design: when the connection is backed up, output is dropped rather than slowing the run.
   */
  report(run: string, r: { fd?: 1 | 2; data?: Buffer; exit?: number }): void {
    if (this.closed) return;
    if (r.data) {
      if (this.conn.socket.writableLength > 1024 * 1024) return;
      for (let at = 0; at < r.data.length; at += 64 * 1024) this.conn.send({ type: 'exec-report', run, fd: r.fd, data: r.data.subarray(at, at + 64 * 1024) });
    }
    if (r.exit !== undefined) this.conn.send({ type: 'exec-report', run, exit: r.exit });
  }

  open(o: ExecOpenOptions): ExecChannel {
    const ch = this.nextCh++;
    const c = new ExecChannel(ch, this);
    this.channels.set(ch, c);
    if (this.closed) {
      queueMicrotask(() => c.emit('exit', { code: null, signal: null, error: 'the connection to the head is closed' }));
      return c;
    }
    this.conn.send({ type: 'exec-open', ch, run: o.run, node: o.node, cmd: o.cmd, files: o.files ?? [], ...(o.env ? { env: o.env } : {}), ...(o.label ? { label: o.label.slice(0, 4000) } : {}) });
    return c;
  }

  /** Runs a command to its end and collects its output (small outputs: checks before a launch). */
  run(o: ExecOpenOptions): Promise<ExecExit & { stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const c = this.open(o);
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      c.on('data', (fd, data, ack) => {
        (fd === 1 ? out : err).push(data);
        ack();
      });
      c.on('exit', (e) => resolve({ ...e, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
    });
  }

  private onMessage(msg: Message): void {
    if (msg.type !== 'exec-data' && msg.type !== 'exec-exit') return;
    const c = this.channels.get(msg.ch);
    if (!c) return;
    if (msg.type === 'exec-data') {
      const n = msg.data.length;
      const data = Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength);
      c.emit('data', msg.fd, data, () => this.conn.send({ type: 'exec-ack', ch: msg.ch, bytes: n }));
      return;
    }
    this.channels.delete(msg.ch);
    c.ended = true;
    c.emit('exit', { code: msg.code, signal: msg.signal, ...(msg.error ? { error: msg.error } : {}), ...(msg.lost ? { lost: true } : {}) });
  }

  close(): void {
    this.conn.close();
  }
}

/** GET a JSON route of the head's API (the mpi app's only other use of the API: the node list). */
export function getJson<T>(api: HeadApi, route: string, timeoutMs = 10_000): Promise<T> {
  const u = new URL(api.url + route);
  const secure = u.protocol === 'https:';
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).request(u, { method: 'GET', headers: { authorization: `Bearer ${api.token}`, accept: 'application/json' }, ...(secure ? { ca: api.ca ?? undefined } : {}), timeout: timeoutMs }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        if ((res.statusCode ?? 0) >= 400) return reject(new BrambleError('HTTP', `the head answered ${res.statusCode ?? '?'} to GET ${route}: ${text.slice(0, 300)}`));
        try {
          resolve(JSON.parse(text) as T);
        } catch {
          reject(new BrambleError('BAD_RESPONSE', `GET ${route}: not JSON`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => reject(new BrambleError('CONNECTION', `cannot reach the head at ${api.url}: ${err.message}`, { cause: err })));
    req.end();
  });
}
