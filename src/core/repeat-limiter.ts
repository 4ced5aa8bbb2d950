import type { Clock } from './clock.js';
import { systemClock } from './clock.js';

/**
 * Rate-limits repeated log lines: at most `burst` lines per key in each `windowMs`; the rest are
 * counted, and the first line allowed after a quiet spell says how many were suppressed.
 * Keys are bounded (`maxKeys`): when full, the table is cleared (a flood of distinct keys costs
 * at most one extra burst each, never memory).
 */
export class RepeatLimiter {
  private readonly keys = new Map<string, { since: number; lines: number; suppressed: number }>();
  private readonly clock: Clock;
  private readonly burst: number;
  private readonly windowMs: number;
  private readonly maxKeys: number;
  /** Lines suppressed since start, every key together. */
  suppressedTotal = 0;

  constructor(o: { burst?: number; windowMs?: number; maxKeys?: number; clock?: Clock } = {}) {
    this.clock = o.clock ?? systemClock;
    this.burst = o.burst ?? 5;
    this.windowMs = o.windowMs ?? 60_000;
    this.maxKeys = o.maxKeys ?? 1000;
  }

  /** null: drop this line; a number: log it, noting that many suppressed before it. */
  allow(key: string): number | null {
    const now = this.clock.now();
    let k = this.keys.get(key);
    if (!k || now - k.since >= this.windowMs) {
      if (!k && this.keys.size >= this.maxKeys) this.keys.clear();
      const suppressed = k?.suppressed ?? 0;
      k = { since: now, lines: 0, suppressed: 0 };
      this.keys.set(key, k);
      k.lines++;
      return suppressed;
    }
    if (k.lines < this.burst) {
      k.lines++;
      return 0;
    }
    k.suppressed++;
    this.suppressedTotal++;
    return null;
  }
}
