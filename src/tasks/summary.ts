import { badSummary } from './define-task.js';

/**
 * Checks for `checkSummary`: every value from the network is checked before it is stored. Each throws
 * `invalid chunk summary: ...` naming what was wrong.
 */
export const check = {
  /** A plain object. */
  map(v: unknown): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) badSummary('not a map');
    return v as Record<string, unknown>;
  },
  /** A non-negative safe integer. */
  count(v: unknown, name: string): number {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) badSummary(`${name} is not a count`);
    return v;
  },
  /** A decimal integer string (big numbers travel as text), optionally within [lo, hi]. */
  decimal(v: unknown, name: string, lo?: bigint, hi?: bigint): string {
    if (typeof v !== 'string' || !/^\d{1,45}$/.test(v)) badSummary(`${name} is not a decimal integer`);
    const b = BigInt(v);
    if ((lo !== undefined && b < lo) || (hi !== undefined && b > hi)) badSummary(`${name} ${v} is outside the chunk [${lo}, ${hi}]`);
    return v;
  },
  /** As `decimal`, or null when absent. */
  decimalOrNull(v: unknown, name: string, lo?: bigint, hi?: bigint): string | null {
    return v === null || v === undefined ? null : check.decimal(v, name, lo, hi);
  },
};
