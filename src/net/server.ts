import net from 'node:net';
import tls from 'node:tls';
import { ConnectionError } from './errors.js';
import { FramedConnection } from './framed-connection.js';
import { channelBinding } from './binding.js';
import { DEFAULT_MAX_FRAME_BYTES } from '../protocol/index.js';
import { DEFAULT_DECODE_LIMITS, ErrorCode, PRE_AUTH_DECODE_LIMITS, PRE_AUTH_MAX_FRAME_BYTES } from '../protocol/index.js';

export interface ServerTls {
  /** PEM of the server certificate followed by the CA certificate (the chain a worker checks). */
  certChainPem: string;
  keyPem: string;
}

export interface FrameServerOptions {
  host: string;
  port: number;
  /** null only for the plaintext mode asked for by name (`--insecure`). */
  tls: ServerTls | null;
  maxFrameBytes?: number;
  /** TLS handshake plus authentication must finish within this, or the socket is closed. */
  authTimeoutMs?: number;
  /**
   * At most this many connections may be unauthenticated at once, counted from the TCP accept (so
   * sockets still in the TLS handshake count); more are dropped at once.
   */
  maxPending?: number;
  /** At most this many of them from one source address (a flood from one address leaves room for others). */
  maxPendingPerAddress?: number;
  /** Largest frame before authentication (a hello is about 10 KB at most). */
  preAuthMaxFrameBytes?: number;
  /** Connections held at once, authenticated or not (the descriptor budget of the port). */
  maxConnections?: number;
}

export const DEFAULT_MAX_PENDING = 256;
export const DEFAULT_MAX_PENDING_PER_ADDRESS = 32;

export interface Pending {
  conn: FramedConnection;
  /** Keying material exported from the TLS session (channel binding), empty for plaintext. */
  binding: Uint8Array;
  /** Call once the peer proved who it is: lifts the authentication timer. */
  authenticated(): void;
}

/** Listens for framed connections; every connection starts `pending` until the app authenticates it. */
export class FrameServer {
  private server!: net.Server;
  private pending = new Set<FramedConnection>();
  private readonly open = new Set<net.Socket>();
  /** Unauthenticated sockets from the TCP accept on, per source address. */
  private readonly preAuth = new Map<string, number>();
  private preAuthTotal = 0;
  readonly stats = { accepted: 0, droppedBusy: 0, droppedPerAddress: 0, timedOut: 0 };

  constructor(
    private readonly options: FrameServerOptions,
    private readonly onConnection: (p: Pending) => void,
  ) {}

  /** Connections not yet authenticated, those still in the TLS handshake included. */
  get pendingCount(): number {
    return this.preAuthTotal;
  }

  /**
   * Counts a new socket against the pre-authentication caps, or drops it. Returns the release
   * function (idempotent: called at authentication and at close), or null when dropped.
   */
  private admit(socket: net.Socket, maxPending: number, perAddress: number): (() => void) | null {
    const addr = socket.remoteAddress ?? '?';
    const mine = this.preAuth.get(addr) ?? 0;
    if (this.preAuthTotal >= maxPending) {
      this.stats.droppedBusy++;
      socket.destroy();
      return null;
    }
    if (mine >= perAddress) {
      this.stats.droppedPerAddress++;
      socket.destroy();
      return null;
    }
    this.preAuth.set(addr, mine + 1);
    this.preAuthTotal++;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      this.preAuthTotal--;
      const n = (this.preAuth.get(addr) ?? 1) - 1;
      if (n <= 0) this.preAuth.delete(addr);
      else this.preAuth.set(addr, n);
    };
    socket.once('close', release);
    return release;
  }

  get port(): number {
    const a = this.server.address();
    return typeof a === 'object' && a ? a.port : 0;
  }

  async listen(): Promise<void> {
    const o = this.options;
    const authTimeoutMs = o.authTimeoutMs ?? 5000;
    const maxPending = o.maxPending ?? DEFAULT_MAX_PENDING;
    const perAddress = o.maxPendingPerAddress ?? DEFAULT_MAX_PENDING_PER_ADDRESS;
    const preAuthFrame = Math.min(o.preAuthMaxFrameBytes ?? PRE_AUTH_MAX_FRAME_BYTES, o.maxFrameBytes ?? Infinity);
    // a TLS socket is counted from its raw TCP socket's accept; this finds its release by address and port
    const handshaking = new Map<string, () => void>();
    const key = (s: net.Socket): string => `${s.remoteAddress}|${s.remotePort}`;
    const accept = (socket: net.Socket): void => {
      this.open.add(socket);
      socket.on('close', () => this.open.delete(socket));
      socket.on('error', () => undefined);
      let release: (() => void) | null;
      if (o.tls) {
        release = handshaking.get(key(socket)) ?? null;
        handshaking.delete(key(socket));
        if (!release) {
          socket.destroy();
          return;
        }
      } else {
        release = this.admit(socket, maxPending, perAddress);
        if (!release) return;
      }
      const lift = release;
      this.stats.accepted++;
      const conn = new FramedConnection(socket, { maxFrameBytes: preAuthFrame, maxSendBytes: o.maxFrameBytes, decodeLimits: PRE_AUTH_DECODE_LIMITS });
      this.pending.add(conn);
      const timer = setTimeout(() => {
        if (this.pending.delete(conn)) {
          this.stats.timedOut++;
          conn.close({ code: ErrorCode.Timeout, message: `not authenticated within ${authTimeoutMs} ms` });
          conn.destroy();
        }
      }, authTimeoutMs);
      timer.unref();
      conn.on('close', () => {
        clearTimeout(timer);
        this.pending.delete(conn);
        lift();
      });
      let binding: Uint8Array = new Uint8Array(0);
      if (socket instanceof tls.TLSSocket) binding = channelBinding(socket);
      this.onConnection({
        conn,
        binding,
        authenticated: () => {
          clearTimeout(timer);
          this.pending.delete(conn);
          lift();
          conn.setReceiveLimits(o.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES, DEFAULT_DECODE_LIMITS);
        },
      });
    };
    if (o.tls) {
      const server = tls.createServer({
        cert: o.tls.certChainPem,
        key: o.tls.keyPem,
        minVersion: 'TLSv1.3',
        handshakeTimeout: o.authTimeoutMs ?? 5000,
      });
      server.on('secureConnection', accept);
      server.on('tlsClientError', (_err, socket) => socket.destroy());
      // sockets still in the TLS handshake count towards the pending caps from the TCP accept on
      server.on('connection', (socket: net.Socket) => {
        socket.on('error', () => undefined);
        const release = this.admit(socket, maxPending, perAddress);
        if (!release) return;
        const k = key(socket);
        handshaking.set(k, release);
        socket.once('close', () => {
          if (handshaking.get(k) === release) handshaking.delete(k);
        });
      });
      this.server = server;
    } else {
      this.server = net.createServer(accept);
    }
    this.server.maxConnections = o.maxConnections ?? 100_000;
    await new Promise<void>((resolve, reject) => {
      const onErr = (err: Error): void => reject(new ConnectionError(`cannot listen on ${o.host}:${o.port}: ${err.message}`, { cause: err }));
      this.server.once('error', onErr);
      this.server.listen(o.port, o.host, () => {
        this.server.off('error', onErr);
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    for (const s of this.open) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
