import { describe, expect, it } from 'vitest';
import { HmacLeaseSigner } from './auth.js';

describe('HmacLeaseSigner', () => {
  const key = 'k'.repeat(64);

  it('signs a run of leases: every token is unique and checks alone, for its own chunk only', () => {
    const s = new HmacLeaseSigner(key);
    const run = s.signRun('job1', 100, 3, 1, 5); // spans at 100, 103, 106, 109, 112
    expect(new Set(run).size).toBe(5);
    run.forEach((t, k) => {
      expect(s.verify(t, 'job1', 100 + 3 * k, 3)).toBe(true);
      expect(s.verify(t, 'job1', 100 + 3 * k + 1, 3)).toBe(false); // another chunk
      expect(s.verify(t, 'job1', 100 + 3 * k, 1)).toBe(false); // another span
      expect(s.verify(t, 'job2', 100 + 3 * k, 3)).toBe(false); // another job
    });
    // a second run never repeats a token of the first
    const next = s.signRun('job1', 115, 3, 1, 5);
    expect(next.some((t) => run.includes(t))).toBe(false);
  });

  it('survives a restart (same key) and refuses another key, and forged or mangled tokens', () => {
    const a = new HmacLeaseSigner(key);
    const t = a.signRun('j', 7, 1, 2, 4)[2] as string;
    expect(new HmacLeaseSigner(key).verify(t, 'j', 9, 1)).toBe(true);
    expect(new HmacLeaseSigner('x'.repeat(64)).verify(t, 'j', 9, 1)).toBe(false);
    // changing k alone moves the run's first chunk: the MAC no longer matches
    expect(a.verify(t.replace('+2.', '+3.'), 'j', 9, 1)).toBe(false);
    expect(a.verify(t.replace('+2.', '+1.'), 'j', 9, 1)).toBe(false);
    // a longer claimed run, a k past the run, garbage
    expect(a.verify(t.replace('.4.', '.5.'), 'j', 9, 1)).toBe(false);
    expect(a.verify(t.replace('+2.', '+9.'), 'j', 16, 1)).toBe(false);
    for (const bad of ['', '.', 'a.b.c', `${t}x`, t.slice(0, -1), '1-abc+0.1.' + 'A'.repeat(22)]) expect(a.verify(bad, 'j', 9, 1)).toBe(false);
  });
});
