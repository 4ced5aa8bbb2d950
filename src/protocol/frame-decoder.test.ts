import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameTooLargeError, ProtocolError } from './errors.js';
import { FrameDecoder, encodeFrame } from './frame-decoder.js';
import { decodeMessage, encodeMessage } from './messages.js';

function feedAll(dec: FrameDecoder, stream: Buffer, cuts: number[]): Buffer[] {
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of [...cuts, stream.length]) {
    out.push(...dec.push(stream.subarray(prev, c)));
    prev = c;
  }
  return out;
}

describe('FrameDecoder', () => {
  it('gives the same frames for every split of a byte stream', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 20 }), (bodies, rawCuts) => {
        const stream = Buffer.concat(bodies.map((b) => encodeFrame(b)));
        const cuts = [...new Set(rawCuts.map((c) => (stream.length === 0 ? 0 : c % stream.length)))].sort((a, b) => a - b);
        const frames = feedAll(new FrameDecoder(), stream, cuts);
        expect(frames.map((f) => Buffer.from(f).toString('hex'))).toEqual(bodies.map((b) => Buffer.from(b).toString('hex')));
      }),
    );
  });

  it('decodes a stream fed one byte at a time', () => {
    const bodies = [Buffer.from('a'), Buffer.alloc(0), Buffer.from('hello world')];
    const stream = Buffer.concat(bodies.map((b) => encodeFrame(b)));
    const dec = new FrameDecoder();
    const got: Buffer[] = [];
    for (const byte of stream) got.push(...dec.push(Buffer.from([byte])));
    expect(got.map(String)).toEqual(['a', '', 'hello world']);
  });

  it('rejects a frame larger than maxFrameBytes before reading its body', () => {
    const dec = new FrameDecoder({ maxFrameBytes: 100 });
    const head = Buffer.alloc(4);
    head.writeUInt32BE(101);
    expect(() => dec.push(head)).toThrow(FrameTooLargeError);
    expect(dec.buffered).toBe(0);
    expect(() => dec.push(Buffer.from([1]))).toThrow(/exceeds the limit of 100 bytes/);
  });

  it('accepts lengths 0 and exactly max; refuses max + 1 and 2^32 - 1 without allocating', () => {
    const max = 64;
    const ok = new FrameDecoder({ maxFrameBytes: max });
    expect(ok.push(encodeFrame(Buffer.alloc(0)))).toHaveLength(1);
    expect(ok.push(encodeFrame(Buffer.alloc(max), max))).toHaveLength(1);
    for (const len of [max + 1, 2 ** 32 - 1]) {
      const d = new FrameDecoder({ maxFrameBytes: max });
      const h = Buffer.alloc(4);
      h.writeUInt32BE(len);
      expect(() => d.push(h)).toThrow(FrameTooLargeError);
    }
  });

  it('holds a truncated frame without emitting it', () => {
    const d = new FrameDecoder();
    const f = encodeFrame(Buffer.from('truncated'));
    expect(d.push(f.subarray(0, f.length - 1))).toEqual([]);
    expect(d.buffered).toBe(f.length - 1);
  });
});

describe('message validation', () => {
  it('round-trips every message shape', () => {
    const msgs = [
      { type: 'want', n: 3 },
      { type: 'ack', tokens: ['a', 'b'] },
      { type: 'assign', chunks: [{ token: 't', job: 'j', index: 4, span: 1, attempt: 1, task: 'primes', params: { list: true }, start: '18446744073709551615', end: '18446744073709551615' }] },
      { type: 'result', token: 't', job: 'j', index: 0, summary: { c: 1 }, output: new Uint8Array([1, 2, 3]) },
      { type: 'error', code: 'X', message: 'y' },
    ] as const;
    for (const m of msgs) {
      const frame = encodeMessage(m as never);
      const body = new FrameDecoder().push(frame)[0] as Buffer;
      const got = decodeMessage(body) as Record<string, unknown>;
      if ('output' in m) {
        expect([...(got['output'] as Uint8Array)]).toEqual([...m.output]);
        expect({ ...got, output: null }).toEqual({ ...m, output: null });
      } else expect(got).toEqual(m);
    }
  });

  it('turns random bytes into ProtocolError only', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          decodeMessage(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(ProtocolError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('names the bad field of an invalid message', () => {
    const body = new FrameDecoder().push(encodeMessage({ type: 'want', n: 3 }))[0] as Buffer;
    expect(decodeMessage(body)).toEqual({ type: 'want', n: 3 });
    const bad = encodeFrame(Buffer.from([0x82, 0xa4, 0x74, 0x79, 0x70, 0x65, 0xa4, 0x77, 0x61, 0x6e, 0x74, 0xa1, 0x6e, 0xa1, 0x78]));
    const b2 = new FrameDecoder().push(bad)[0] as Buffer;
    expect(() => decodeMessage(b2)).toThrow(/invalid want message: n/);
  });
});
