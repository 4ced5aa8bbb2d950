import net from 'node:net';
import tls from 'node:tls';
import { ConnectionError } from './errors.js';
import { FramedConnection } from './framed-connection.js';
import { channelBinding } from './binding.js';
import { ErrorCode } from '../protocol/index.js';

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
  /** At most this many connections may wait for authentication at once; more are dropped. */
  maxPending?: number;
}

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
  readonly stats = { accepted: 0, droppedBusy: 0, timedOut: 0 };

  constructor(
    private readonly options: FrameServerOptions,
    private readonly onConnection: (p: Pending) => void,
  ) {}

  get pendingCount(): number {
    return this.pending.size;
  }

  get port(): number {
    const a = this.server.address();
    return typeof a === 'object' && a ? a.port : 0;
  }

  async listen(): Promise<void> {
    const o = this.options;
    const authTimeoutMs = o.authTimeoutMs ?? 5000;
    const maxPending = o.maxPending ?? 256;
    const accept = (socket: net.Socket): void => {
      this.open.add(socket);
      socket.on('close', () => this.open.delete(socket));
      socket.on('error', () => undefined);
      if (this.pending.size >= maxPending) {
        this.stats.droppedBusy++;
        socket.destroy();
        return;
      }
      this.stats.accepted++;
      const conn = new FramedConnection(socket, { maxFrameBytes: o.maxFrameBytes });
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
      });
      let binding: Uint8Array = new Uint8Array(0);
      if (socket instanceof tls.TLSSocket) binding = channelBinding(socket);
      this.onConnection({
        conn,
        binding,
        authenticated: () => {
          clearTimeout(timer);
          this.pending.delete(conn);
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
      // sockets still in the TLS handshake count towards the pending cap too
      server.on('connection', (socket: net.Socket) => {
        if (this.pending.size >= maxPending) {
          this.stats.droppedBusy++;
          socket.destroy();
        }
      });
      this.server = server;
    } else {
      this.server = net.createServer(accept);
    }
    this.server.maxConnections = 100_000;
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
