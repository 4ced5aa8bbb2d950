import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AgentFrame, AgentFrameReader, agentExitCode, agentFrame } from './agent-wire.js';

describe('the agent wire', () => {
  it('gives the same frames for every split of the byte stream', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 20 }), (payloads, cuts) => {
        const stream = Buffer.concat(payloads.map((p, i) => agentFrame(i % 2 ? AgentFrame.stderr : AgentFrame.stdout, Buffer.from(p))));
        const reader = new AgentFrameReader();
        const got: { type: number; payload: Buffer }[] = [];
        let at = 0;
        for (let k = 0; at < stream.length; k++) {
          const n = cuts[k % cuts.length] as number;
          got.push(...reader.push(stream.subarray(at, at + n)));
          at += n;
        }
        expect(got.map((f) => [f.type, [...f.payload]])).toEqual(payloads.map((p, i) => [i % 2 ? 2 : 1, [...p]]));
      }),
    );
  });

  it("exits as ssh does: the remote code, 128+N for a signal, 255 when it never ran or its node was lost", () => {
    const signals = { SIGKILL: 9, SIGTERM: 15 };
    expect(agentExitCode({ code: 3, signal: null }, signals)).toBe(3);
    expect(agentExitCode({ code: null, signal: 'SIGKILL' }, signals)).toBe(137);
    expect(agentExitCode({ code: null, signal: null, error: 'node pi3 was lost' }, signals)).toBe(255);
  });
});
