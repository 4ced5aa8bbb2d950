import { FrameTooLargeError } from './errors.js';

export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

/**
 * Splits a byte stream into frames: a u32 big-endian length, then that many body bytes.
 * Owns no socket: `push` takes whatever arrived and returns the whole frames it completes.
 * A length over `maxFrameBytes` throws before any of that body is buffered.
 */
export class FrameDecoder {
  private max: number;
  private head = Buffer.alloc(4);
  private headFill = 0;
  private body: Buffer | null = null;
  private bodyFill = 0;
  private failed: FrameTooLargeError | null = null;

  constructor(options: { maxFrameBytes?: number } = {}) {
    this.max = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  }

  /** Changes the limit for frames whose length has not been read yet (raised after authentication). */
  setMaxFrameBytes(max: number): void {
    this.max = max;
  }

  /** Bytes held for an incomplete frame. */
  get buffered(): number {
    return this.body === null ? this.headFill : 4 + this.bodyFill;
  }

  push(chunk: Uint8Array): Buffer[] {
    if (this.failed) throw this.failed;
    const frames: Buffer[] = [];
    let off = 0;
    while (off < chunk.length) {
      if (this.body === null) {
        const take = Math.min(4 - this.headFill, chunk.length - off);
        for (let i = 0; i < take; i++) this.head[this.headFill + i] = chunk[off + i] as number;
        this.headFill += take;
        off += take;
        if (this.headFill < 4) break;
        const len = this.head.readUInt32BE(0);
        this.headFill = 0;
        if (len > this.max) {
          this.failed = new FrameTooLargeError(len, this.max);
          throw this.failed;
        }
        this.body = Buffer.allocUnsafe(len);
        this.bodyFill = 0;
      }
      const need = this.body.length - this.bodyFill;
      const take = Math.min(need, chunk.length - off);
      if (take > 0) {
        this.body.set(chunk.subarray(off, off + take), this.bodyFill);
        this.bodyFill += take;
        off += take;
      }
      if (this.bodyFill === this.body.length) {
        frames.push(this.body);
        this.body = null;
        this.bodyFill = 0;
      }
    }
    return frames;
  }
}

/** Prefixes a body with its u32 big-endian length. */
export function encodeFrame(body: Uint8Array, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): Buffer {
  if (body.length > maxFrameBytes) throw new FrameTooLargeError(body.length, maxFrameBytes);
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeUInt32BE(body.length, 0);
  out.set(body, 4);
  return out;
}
