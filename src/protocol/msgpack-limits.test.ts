import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from './errors.js';
import { decodeMessage, encodeMessage, PROTOCOL_VERSION } from './messages.js';
import { checkMsgpack, DEFAULT_DECODE_LIMITS, PRE_AUTH_DECODE_LIMITS } from './msgpack-limits.js';

const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true });
const body = (frame: Buffer): Buffer => frame.subarray(4);

/** array32 header then n one-byte empty arrays: the hostile frame of issue 17. */
function emptyArrays(n: number): Buffer {
  const b = Buffer.alloc(5 + n, 0x90);
  b[0] = 0xdd;
  b.writeUInt32BE(n, 1);
  return b;
}

describe('checkMsgpack', () => {
  it('passes every value msgpackr writes, with its exact count of values', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (v) => {
        expect(() => checkMsgpack(packr.pack(v), { maxElements: 1 << 20, maxDepth: 16 })).not.toThrow();
      }),
      { numRuns: 300 },
    );
    expect(() => checkMsgpack(packr.pack([1, 2, 3]), { maxElements: 3, maxDepth: 4 })).toThrow(/more than 3 values/);
    expect(() => checkMsgpack(packr.pack([1, 2, 3]), { maxElements: 4, maxDepth: 4 })).not.toThrow();
    expect(() => checkMsgpack(packr.pack({ b: new Uint8Array(1000), f: 1.5, n: -1e12, s: 'x'.repeat(70_000) }), { maxElements: 9, maxDepth: 1 })).not.toThrow();
  });

  it('passes a hello at its schema limits before authentication, and a full assign after it', () => {
    const hello = encodeMessage({
      type: 'hello', version: PROTOCOL_VERSION, node: 'n'.repeat(128), name: 'n', instance: 0, hostname: 'h'.repeat(255),
      addresses: Array.from({ length: 64 }, () => 'a'.repeat(64)), slots: 1, kernels: Array.from({ length: 64 }, () => 'k'.repeat(64)), pid: 1, load: [1, 2, 3],
    });
    expect(hello.length).toBeLessThan(16 * 1024);
    expect(decodeMessage(body(hello), PRE_AUTH_DECODE_LIMITS).type).toBe('hello');
    const chunks = Array.from({ length: 1024 }, (_, i) => ({ token: 't'.repeat(100), job: 'j', index: i, span: 1, attempt: 0, task: 'life', params: { w: 1, h: 2, pattern: 'x'.repeat(50) }, start: '1', end: '2' }));
    expect(decodeMessage(body(encodeMessage({ type: 'assign', chunks })), DEFAULT_DECODE_LIMITS).type).toBe('assign');
  });

  it('refuses 16 MiB of empty arrays after 2^20 steps, without building them', () => {
    const bomb = emptyArrays(16 * 1024 * 1024 - 5);
    const heap0 = process.memoryUsage().heapUsed;
    let err: unknown;
    try {
      decodeMessage(bomb, DEFAULT_DECODE_LIMITS);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as ProtocolError).code).toBe('BAD_FRAME');
    expect((err as Error).message).toMatch(/more than 1048576 values/);
    // no JavaScript array was built: the heap grew by far less than one per value
    expect(process.memoryUsage().heapUsed - heap0).toBeLessThan(8 * 1024 * 1024);
    expect(() => decodeMessage(emptyArrays(2000), PRE_AUTH_DECODE_LIMITS)).toThrow(/more than 1024 values/);
  });

  it('refuses deep nesting, lying counts, truncation, trailing bytes and the never-used byte', () => {
    const deep = Buffer.concat([Buffer.alloc(100, 0x91), Buffer.from([0xc0])]);
    expect(() => checkMsgpack(deep, DEFAULT_DECODE_LIMITS)).toThrow(/deeper than 32/);
    const lying = Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff, 0x90]);
    expect(() => checkMsgpack(lying, DEFAULT_DECODE_LIMITS)).toThrow(/truncated/);
    expect(() => checkMsgpack(Buffer.from([0xdb, 0, 0, 1, 0, 0x61]), DEFAULT_DECODE_LIMITS)).toThrow(/truncated/);
    expect(() => checkMsgpack(Buffer.from([0x01, 0x02]), DEFAULT_DECODE_LIMITS)).toThrow(/1 bytes after/);
    expect(() => checkMsgpack(Buffer.from([0xc1]), DEFAULT_DECODE_LIMITS)).toThrow(/0xc1/);
  });
});
