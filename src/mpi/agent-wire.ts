/**
 * The local wire between `bramble agent` (started by mpirun, once per node) and the `bramble mpirun`
 * that started mpirun, over a Unix socket in a private directory. The agent sends one JSON line,
 * `{"host": ..., "argv": [...]}`; the answer is frames of a type byte, a u32 big-endian length and the
 * payload: stdout bytes, stderr bytes, then one exit (JSON). Kept free of bramble's other modules so
 * the agent starts fast.
 */
export const AgentFrame = { stdout: 1, stderr: 2, exit: 3 } as const;
export type AgentFrame = (typeof AgentFrame)[keyof typeof AgentFrame];

export interface AgentExit {
  code: number | null;
  signal: string | null;
  error?: string;
}

export function agentFrame(type: AgentFrame, payload: Buffer): Buffer {
  const head = Buffer.allocUnsafe(5);
  head.writeUInt8(type, 0);
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

/** Splits a byte stream into frames (any split of the stream gives the same frames). */
export class AgentFrameReader {
  private buf: Buffer = Buffer.alloc(0);
  push(chunk: Buffer): { type: number; payload: Buffer }[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: { type: number; payload: Buffer }[] = [];
    while (this.buf.length >= 5) {
      const len = this.buf.readUInt32BE(1);
      if (len > 16 * 1024 * 1024) throw new Error(`agent frame of ${len} bytes`);
      if (this.buf.length < 5 + len) break;
      out.push({ type: this.buf.readUInt8(0), payload: this.buf.subarray(5, 5 + len) });
      this.buf = this.buf.subarray(5 + len);
    }
    return out;
  }
}

/** The agent's exit status, as ssh's: the remote code; 128+N for a signal; 255 when it never ran or was lost. */
export function agentExitCode(e: AgentExit, signals: Record<string, number>): number {
  if (e.code !== null && e.error === undefined) return e.code;
  if (e.signal) return 128 + (signals[e.signal] ?? 0);
  return 255;
}
