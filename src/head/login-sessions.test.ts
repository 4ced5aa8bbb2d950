import { describe, expect, it } from 'vitest';
import { DashboardSessions, LoginCodes } from './login-sessions.js';

describe('login codes (issue 17, item 12)', () => {
  it('work once, and not after 10 minutes', () => {
    let now = 0;
    const codes = new LoginCodes(() => now);
    const a = codes.mint();
    const b = codes.mint();
    expect(codes.redeem(a)).toBe(true);
    expect(codes.redeem(a)).toBe(false);
    now = 10 * 60_000;
    expect(codes.redeem(b)).toBe(false);
    expect(codes.size).toBe(0);
    expect(codes.redeem('')).toBe(false);
  });
});

describe('dashboard sessions (issue 17, item 11)', () => {
  it('end after 12 hours, after 2 hours unused, or all at once', () => {
    let now = 0;
    const s = new DashboardSessions(() => now);
    const a = s.open();
    expect(a).toHaveLength(43);
    expect(s.check(a)).toBe(true);
    expect(s.check(a.slice(0, -1) + (a.endsWith('A') ? 'B' : 'A'))).toBe(false);
    for (let h = 1; h < 12; h++) {
      now = h * 3600_000;
      expect(s.check(a)).toBe(true);
    }
    now = 12 * 3600_000;
    expect(s.check(a)).toBe(false);
    const b = s.open();
    now += 2 * 3600_000;
    expect(s.check(b)).toBe(false);
    const c = s.open();
    const d = s.open();
    expect(s.revokeAll()).toBe(2);
    expect(s.check(c) || s.check(d)).toBe(false);
  });
});
