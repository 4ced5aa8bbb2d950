import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { DecodeLimits, Message } from '../protocol/index.js';
import { BrambleError } from '../core/index.js';
import { DEFAULT_DECODE_LIMITS, DEFAULT_MAX_FRAME_BYTES, ErrorCode, FrameDecoder, ProtocolError, decodeMessage, encodeMessage } from '../protocol/index.js';
import { ConnectionError } from './errors.js';

export interface FramedConnectionOptions {
  /** Largest frame received (what this side sends is checked against `maxSendBytes`). */
  maxFrameBytes?: number;
  /** Largest frame sent; defaults to `maxFrameBytes`. */
  maxSendBytes?: number;
  /** Shape limits on every frame received, checked before it is decoded. */
  decodeLimits?: DecodeLimits;
}

export interface FramedConnectionEvents {
  message: [Message];
  close: [Error | undefined];
}

/**
 * A socket speaking length-prefixed MessagePack frames. Every frame is decoded and validated; a bad
 * one gets an `error` frame back and the connection is closed.
 */
export class FramedConnection extends EventEmitter<FramedConnectionEvents> {
  private readonly decoder: FrameDecoder;
  private readonly maxFrameBytes: number;
  private decodeLimits: DecodeLimits;
  private closed = false;
  private closeError: Error | undefined;
  readonly remoteAddress: string;
  readonly remotePort: number;

  constructor(
    readonly socket: Socket,
    options: FramedConnectionOptions = {},
  ) {
    super();
    this.maxFrameBytes = options.maxSendBytes ?? options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.decodeLimits = options.decodeLimits ?? DEFAULT_DECODE_LIMITS;
    this.decoder = new FrameDecoder({ maxFrameBytes: options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES });
    this.remoteAddress = socket.remoteAddress ?? '?';
    this.remotePort = socket.remotePort ?? 0;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => {
      this.closeError ??= new ConnectionError(`connection to ${this.remoteAddress} failed: ${err.message}`, { cause: err });
    });
    socket.on('close', () => {
      this.closed = true;
      this.emit('close', this.closeError);
    });
  }

  /** Changes what is accepted from the next frame on (the server raises the pre-authentication limits). */
  setReceiveLimits(maxFrameBytes: number, decodeLimits: DecodeLimits): void {
    this.decoder.setMaxFrameBytes(maxFrameBytes);
    this.decodeLimits = decodeLimits;
  }

  get isOpen(): boolean {
    return !this.closed && !this.socket.destroyed;
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    let frames: Buffer[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      this.fail(err);
      return;
    }
    for (const f of frames) {
      if (this.closed || this.socket.destroyed) return;
      let msg: Message;
      try {
        msg = decodeMessage(f, this.decodeLimits);
      } catch (err) {
        this.fail(err);
        return;
      }
      if (msg.type === 'error') this.closeError ??= new ProtocolError(msg.code as ErrorCode, `peer said: ${msg.message}`);
      this.emit('message', msg);
    }
  }

  /** Sends an `error` frame naming the problem, then closes. */
  fail(err: unknown): void {
    const code = err instanceof BrambleError ? err.code : ErrorCode.Internal;
    const message = err instanceof Error ? err.message : String(err);
    this.closeError ??= err instanceof Error ? err : new Error(message);
    this.close({ code, message });
  }

  private corked = false;

  /** Bytes queued for sending (for a sender that streams much, to wait for the socket). */
  get bufferedBytes(): number {
    return this.socket.writableLength;
  }

  /** Frames sent in one tick leave in one write (one TLS record, one syscall) when the tick ends. */
  send(msg: Message): boolean {
    if (!this.isOpen) return false;
    try {
      if (!this.corked) {
        this.corked = true;
        this.socket.cork();
        process.nextTick(() => {
          this.corked = false;
          this.socket.uncork();
        });
      }
      return this.socket.write(encodeMessage(msg, this.maxFrameBytes));
    } catch (err) {
      this.fail(err);
      return false;
    }
  }

  /** Closes gracefully, after an optional error frame; destroys if the peer does not close in time. */
  close(error?: { code: string; message: string }): void {
    if (this.closed) return;
    this.closed = true;
    if (error && !this.socket.destroyed) {
      try {
        this.socket.write(encodeMessage({ type: 'error', code: error.code, message: error.message.slice(0, 4000) }));
      } catch {
        /* closing anyway */
      }
    }
    this.socket.end();
    const t = setTimeout(() => this.socket.destroy(), 1000);
    t.unref();
  }

  destroy(): void {
    this.closed = true;
    this.socket.destroy();
  }
}
