import { describe, expect, it } from 'vitest';
import { ManualClock } from './clock.js';
import { RepeatLimiter } from './repeat-limiter.js';

describe('RepeatLimiter', () => {
  it('lets a burst through per key and window, then counts what it drops', () => {
    const clock = new ManualClock(0);
    const r = new RepeatLimiter({ burst: 3, windowMs: 1000, clock });
    const seen = Array.from({ length: 10 }, () => r.allow('a'));
    expect(seen.filter((x) => x !== null)).toHaveLength(3);
    expect(r.allow('b')).toBe(0); // another key has its own burst
    expect(r.suppressedTotal).toBe(7);
    clock.advance(1000);
    expect(r.allow('a')).toBe(7); // the next line allowed says how many were dropped
    expect(r.allow('a')).toBe(0);
  });

  it('keeps a bounded table under a flood of distinct keys', () => {
    const r = new RepeatLimiter({ burst: 1, maxKeys: 100 });
    for (let i = 0; i < 10_000; i++) r.allow(`k${i}`);
    expect((r as unknown as { keys: Map<string, unknown> }).keys.size).toBeLessThanOrEqual(100);
  });
});
