import net from 'node:net';
import { FrameDecoder, FrameTooLargeError } from '../protocol/index.js';
import { InputError } from '../core/index.js';
import type { AllowList } from './allow-list.js';
import { plainAddress } from './allow-list.js';

export interface ListenerOptions {
  /** The flag that opened it, for messages (`--compat-telemetry`). */
  flag: string;
  host: string;
  port: number;
  allow: AllowList;
  /** Connections open at once; more are closed at accept. */
  maxConnections: number;
  /** Connections open at once from one address (issue 17, item 20): one source cannot fill the port. */
  maxPerAddress?: number;
  /**
   * Called when `maxConnections` are open: closes one connection to make room (the seed 000 listener
   * evicts its oldest waiting client) and returns true, or returns false and the new one is refused.
   */
  evict?: () => boolean;
  /** A connection from outside --compat-allow, or over a cap, was closed at accept. */
  onRefused(remote: string, why: 'not allowed' | 'too many connections' | 'too many from this address'): void;
}

/**
 * A plain TCP listener for one seed format: refuses addresses outside the allow list and connections
 * over the cap before reading a byte, swallows socket errors, and destroys every socket on close.
 */
export class CompatListener {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly perAddress = new Map<string, number>();
  readonly stats = { accepted: 0, refused: 0, refusedPerAddress: 0 };

  constructor(
    private readonly o: ListenerOptions,
    onSocket: (socket: net.Socket, remote: string, hold: () => () => void) => void,
  ) {
    this.server = net.createServer({ noDelay: true }, (socket) => {
      socket.on('error', () => {
        /* resets, timeouts: the close handler cleans up */
      });
      const remote = plainAddress(socket.remoteAddress ?? '');
      if (!o.allow.allows(remote)) {
        this.stats.refused++;
        socket.destroy();
        o.onRefused(remote, 'not allowed');
        return;
      }
      const mine = this.perAddress.get(remote) ?? 0;
      if (mine >= (o.maxPerAddress ?? Infinity)) {
        this.stats.refused++;
        this.stats.refusedPerAddress++;
        socket.destroy();
        o.onRefused(remote, 'too many from this address');
        return;
      }
      // an evicted socket leaves the set on its 'close' event, so each new one evicts one (never more)
      if (this.sockets.size >= o.maxConnections) {
        if (!o.evict?.()) {
          this.stats.refused++;
          socket.destroy();
          o.onRefused(remote, 'too many connections');
          return;
        }
      }
      this.stats.accepted++;
      this.sockets.add(socket);
      this.perAddress.set(remote, mine + 1);
      // a connection counts toward the caps until its socket has closed and its handler let go of it
      // (messages received before the peer closed may still wait for their turn: `hold`)
      let holds = 1;
      const release = (): void => {
        if (--holds > 0) return;
        this.sockets.delete(socket);
        const m = (this.perAddress.get(remote) ?? 1) - 1;
        if (m <= 0) this.perAddress.delete(remote);
        else this.perAddress.set(remote, m);
      };
      socket.once('close', release);
      const hold = (): (() => void) => {
        holds++;
        let letGo = false;
        return () => {
          if (letGo) return;
          letGo = true;
          release();
        };
      };
      onSocket(socket, remote, hold);
    });
    this.server.on('error', () => {
      /* reported by listen() */
    });
  }

  get port(): number {
    const a = this.server.address();
    return typeof a === 'object' && a ? a.port : this.o.port;
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        const why = err.code === 'EADDRINUSE' ? 'the port is in use' : err.code === 'EACCES' ? 'permission denied (ports below 1024 need privileges)' : err.message;
        reject(new InputError(this.o.flag, `${this.o.flag}: cannot listen on ${this.o.host}:${this.o.port}: ${why}`, { cause: err }));
      };
      this.server.once('error', onError);
      this.server.listen({ host: this.o.host, port: this.o.port, backlog: 511 }, () => {
        this.server.off('error', onError);
        resolve(this.port);
      });
    });
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    if (this.server.listening) await closed;
  }
}

export interface LengthPrefixedOptions {
  /** Largest body accepted; a larger length closes the socket before its body is read. */
  maxBytes: number;
  /** No byte for this long: closed. */
  idleMs: number;
  /** A message begun must be complete within this time (no byte-at-a-time drip). */
  messageMs: number;
  /**
   * A rate limit (issue 17, item 20): called before each message; 0 lets it through (and spends its
   * token), a positive number is how many milliseconds to wait. While it waits the socket is paused
   * (the sender is slowed by TCP, nothing is lost) and its idle and message timers are stopped.
   */
  admit?: () => number;
  /**
   * Keeps the connection counted by its listener after the peer closed, while messages it sent wait
   * for their turn (the seed's senders write one message and close at once); returns the release.
   */
  hold?: () => () => void;
  /** Handles a whole body; returns false to close the connection. */
  onMessage(body: Buffer): boolean;
  /** A broken connection (too large, too slow); the socket is already being closed. */
  onBad(reason: string): void;
}

/** Reads `4-byte big-endian length + body` messages from a socket, as the seed 004 scripts send them. */
export function readLengthPrefixed(socket: net.Socket, o: LengthPrefixedOptions): void {
  const decoder = new FrameDecoder({ maxFrameBytes: o.maxBytes });
  let deadline: NodeJS.Timeout | null = null;
  let held: NodeJS.Timeout | null = null;
  let queue: Buffer[] = [];
  let done = false;
  let peerGone = false;
  let release: (() => void) | null = null;
  const finish = (): void => {
    done = true;
    if (deadline) clearTimeout(deadline);
    if (held) clearTimeout(held);
    queue = [];
    release?.();
    release = null;
  };
  const stop = (reason: string | null): void => {
    if (done) return;
    finish();
    if (reason !== null) {
      o.onBad(reason);
      socket.destroy();
    } else {
      socket.end();
      socket.destroySoon();
    }
  };
  const idle = (): void => stop(`silent for ${o.idleMs} ms`);
  socket.setTimeout(o.idleMs, idle);
  socket.on('close', () => {
    peerGone = true;
    if (deadline) clearTimeout(deadline);
    deadline = null;
    // messages received whole before the close still get their turn (and the listener still counts them)
    if (!done && held !== null && queue.length > 0 && o.hold) release = o.hold();
    else if (!done) finish();
  });
  const messageTimer = (): void => {
    if (decoder.buffered > 0 && deadline === null) {
      deadline = setTimeout(() => stop(`a message took longer than ${o.messageMs} ms to arrive`), o.messageMs);
      deadline.unref();
    } else if (decoder.buffered === 0 && deadline !== null) {
      clearTimeout(deadline);
      deadline = null;
    }
  };
  /** Hands queued messages over, one token each; pauses the socket when the rate limit says wait. */
  const drain = (): void => {
    while (queue.length > 0 && !done) {
      const wait = o.admit ? o.admit() : 0;
      if (wait > 0) {
        if (held === null) {
          socket.pause();
          socket.setTimeout(0);
          if (deadline) {
            clearTimeout(deadline);
            deadline = null;
          }
        }
        held = setTimeout(() => {
          held = null;
          drain();
        }, wait);
        held.unref();
        return;
      }
      const body = queue.shift() as Buffer;
      let more: boolean;
      try {
        more = o.onMessage(body);
      } catch (err) {
        stop(`handler error: ${(err as Error).message}`);
        return;
      }
      if (!more) {
        stop(null);
        return;
      }
    }
    if (done) return;
    if (peerGone) {
      finish();
      return;
    }
    if (socket.isPaused()) {
      socket.setTimeout(o.idleMs, idle);
      socket.resume();
    }
    messageTimer();
  };
  socket.on('data', (chunk: Buffer) => {
    if (done) return;
    try {
      for (const body of decoder.push(chunk)) queue.push(body);
    } catch (err) {
      stop(err instanceof FrameTooLargeError ? `a length of ${err.length} bytes (the limit is ${err.max})` : (err as Error).message);
      return;
    }
    if (held === null) drain();
  });
}
