/**
 * Token buckets keyed by source address (issue 17, items 19 and 20): each key may spend `burst`
 * at once and `perSecond` after that. Used for the seed 004 prime rate (tokens = values) and the seed
 * 000 check budget (tokens = milliseconds of check CPU). A level may go below zero (a cost known only
 * afterwards, like a check's CPU time): the key then waits until it is refilled. Keys at a full
 * bucket are forgotten, so the table holds only sources that spent something recently; it is bounded
 * by `maxKeys` (when full, the fullest bucket is dropped: it is the one closest to forgotten anyway).
 */
export class TokenBuckets {
  private readonly levels = new Map<string, { level: number; at: number }>();

  constructor(
    readonly perSecond: number,
    readonly burst: number,
    private readonly now: () => number,
    private readonly maxKeys = 65_536,
  ) {
    if (!(perSecond > 0) || !(burst > 0)) throw new Error('TokenBuckets: perSecond and burst must be positive');
  }

  /** The key's tokens now (at most `burst`). */
  level(key: string): number {
    const b = this.levels.get(key);
    if (!b) return this.burst;
    const t = this.now();
    const level = Math.min(this.burst, b.level + ((t - b.at) / 1000) * this.perSecond);
    if (level >= this.burst) {
      this.levels.delete(key);
      return this.burst;
    }
    b.level = level;
    b.at = t;
    return level;
  }

  /**
   * Reserves `n` tokens now, going into debt if need be, and returns the milliseconds until the debt
   * is paid (0: go now). Each waiter is woken once, at its turn, however many wait on one key.
   */
  reserve(key: string, n = 1): number {
    this.spend(key, n);
    return this.waitFor(key, 0);
  }

  /** Spends `n` tokens unconditionally (the level may go negative). */
  spend(key: string, n: number): void {
    const level = this.level(key);
    if (!this.levels.has(key) && this.levels.size >= this.maxKeys) {
      let fullest: string | null = null;
      let best = -Infinity;
      for (const [k, v] of this.levels) {
        if (v.level > best) {
          best = v.level;
          fullest = k;
        }
      }
      if (fullest !== null) this.levels.delete(fullest);
    }
    this.levels.set(key, { level: level - n, at: this.now() });
  }

  /** Milliseconds until the key's level is at least `n` (0 if it is). */
  waitFor(key: string, n = 0): number {
    const level = this.level(key);
    return level >= n ? 0 : Math.max(1, Math.ceil(((n - level) / this.perSecond) * 1000));
  }

  get size(): number {
    return this.levels.size;
  }
}
