import { EventEmitter } from 'node:events';
import type { Message } from '../protocol/index.js';
import { BrambleError } from '../core/index.js';
import { ErrorCode, ProtocolError } from '../protocol/index.js';
import type { FramedConnectionEvents } from './framed-connection.js';

/**
 * What the head's worker sessions and the worker agent need of a connection: messages in order both
 * ways, an error frame before a close, and the close. `FramedConnection` (a TLS socket speaking framed
 * MessagePack) is one; `LocalLink` (two ends in one process, `bramble run`) the other.
 */
export interface MessageLink {
  readonly remoteAddress: string;
  readonly isOpen: boolean;
  /** Bytes (or, in process, messages) sent but not yet taken by the peer. */
  readonly bufferedBytes: number;
  send(msg: Message): boolean;
  /** Sends an `error` frame naming the problem, then closes. */
  fail(err: unknown): void;
  close(error?: { code: string; message: string }): void;
  destroy(): void;
  on<K extends keyof FramedConnectionEvents>(event: K, listener: (...args: FramedConnectionEvents[K]) => void): this;
}

/** A connection and the keying material both ends agree on (the channel binding of the auth proof). */
export interface LinkEnd {
  conn: MessageLink;
  binding: Uint8Array;
}

/**
 * One end of an in-process link. Messages are handed over as objects, not encoded: a sender must not
 * change a message after sending it (none does: every message is built for its send). They are
 * delivered in order, those of one turn of the event loop together in the next (`setImmediate`), so a
 * send never re-enters the receiver, as with a socket, and a busy pair still lets timers and the slot
 * threads' replies in between.
 */
export class LocalLink extends EventEmitter<FramedConnectionEvents> implements MessageLink {
  peer!: LocalLink;
  private outbox: Message[] = [];
  private queuedBytes = 0;
  private flushing = false;
  private closed = false;
  private closeError: Error | undefined;
  private closeEmitted = false;

  constructor(
    readonly remoteAddress: string,
    /** Each message through the wire's encoding and checks (tests: BRAMBLE_CHECK_LOCAL_LINK=1). */
    private readonly check: ((m: Message) => Message) | null,
  ) {
    super();
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /** The byte payloads (rows, outputs, code) of messages not yet delivered, for a sender that streams much. */
  get bufferedBytes(): number {
    return this.queuedBytes;
  }

  send(msg: Message): boolean {
    if (this.closed) return false;
    let m = msg;
    if (this.check) {
      try {
        m = this.check(msg);
      } catch (err) {
        this.fail(err);
        return false;
      }
    }
    this.outbox.push(m);
    this.queuedBytes += payloadBytes(m);
    if (!this.flushing) {
      this.flushing = true;
      setImmediate(() => this.flush());
    }
    return true;
  }

  private flush(): void {
    this.flushing = false;
    const batch = this.outbox;
    this.outbox = [];
    this.queuedBytes = 0;
    this.peer.receive(batch);
    if (this.closed) this.peer.end(undefined);
  }

  private receive(batch: Message[]): void {
    for (const m of batch) {
      if (this.closeEmitted) return;
      if (m.type === 'error') this.closeError ??= new ProtocolError(m.code as ErrorCode, `peer said: ${m.message}`);
      this.emit('message', m);
    }
  }

  fail(err: unknown): void {
    const code = err instanceof BrambleError ? err.code : ErrorCode.Internal;
    const message = err instanceof Error ? err.message : String(err);
    this.closeError ??= err instanceof Error ? err : new Error(message);
    this.close({ code, message });
  }

  /** Closes after the messages already sent (and the error, if any) reach the peer. */
  close(error?: { code: string; message: string }): void {
    if (this.closed) return;
    if (error) this.outbox.push({ type: 'error', code: error.code, message: error.message.slice(0, 4000) });
    this.closed = true;
    if (!this.flushing) {
      this.flushing = true;
      setImmediate(() => this.flush());
    }
    setImmediate(() => this.end(undefined));
  }

  /** Drops what is queued; both ends close now. */
  destroy(): void {
    this.closed = true;
    this.outbox = [];
    this.queuedBytes = 0;
    setImmediate(() => {
      this.end(undefined);
      this.peer.end(undefined);
    });
  }

  /** This end is closed for good: one `close` event. */
  private end(err: Error | undefined): void {
    this.closed = true;
    if (this.closeEmitted) return;
    this.closeEmitted = true;
    this.emit('close', this.closeError ?? err);
  }
}

/** Bytes of a message's binary fields (its other fields are small). */
function payloadBytes(m: Message): number {
  let n = 0;
  for (const v of Object.values(m)) if (v instanceof Uint8Array) n += v.byteLength;
  return n;
}

/** Two ends of an in-process link, the head's and the worker's, with a shared random binding. */
export function localLinkPair(binding: Uint8Array, check: ((m: Message) => Message) | null = null): { head: LinkEnd; worker: LinkEnd } {
  const h = new LocalLink('in-process', check);
  const w = new LocalLink('in-process', check);
  h.peer = w;
  w.peer = h;
  return { head: { conn: h, binding }, worker: { conn: w, binding } };
}
