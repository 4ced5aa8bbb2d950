import { InputError } from './errors.js';

/** 2^64 - 1: the largest value a range may touch. */
export const U64_MAX = (1n << 64n) - 1n;
/** Jobs are cut into at most this many chunks, so chunk indices stay plain numbers. */
export const MAX_CHUNKS = 100_000_000;

/**
 * The longest numeric text accepted (`2^64-1`, `18_446_744_073_709_551_615`, `1e12+1e6` all fit): checked
 * before anything is evaluated, so a huge sum of powers costs nothing (issue 17, item 6).
 */
export const MAX_NUMBER_TEXT = 80;

/** Input as an error message shows it: at most 40 characters. */
function short(text: unknown): string {
  const s = typeof text === 'string' ? text : typeof text === 'number' || typeof text === 'bigint' ? String(text) : (JSON.stringify(text) ?? String(text));
  return s.length > 40 ? `${s.slice(0, 40)}...` : s;
}
const quoted = (text: unknown): string => JSON.stringify(short(text));

const TERM = /^(?:(\d[\d_]*)(?:\.(\d[\d_]*))?(?:[eE](\d+))?|(\d+)\^(\d+))$/;

function parseTerm(term: string): bigint | null {
  const m = TERM.exec(term);
  if (!m) return null;
  if (m[4] !== undefined && m[5] !== undefined) {
    const exp = BigInt(m[5]);
    if (exp > 256n) return null;
    return BigInt(m[4]) ** exp;
  }
  const intPart = (m[1] ?? '').replaceAll('_', '');
  const frac = (m[2] ?? '').replaceAll('_', '');
  const exp = m[3] === undefined ? 0 : Number(m[3]);
  if (intPart === '' || (m[1] ?? '').endsWith('_') || (m[2] ?? '').endsWith('_')) return null;
  if (exp > 400) return null;
  if (frac.length > exp) {
    // 1.5e0 is not an integer unless the trailing fraction digits are zeros
    const extra = frac.slice(exp);
    if (!/^0*$/.test(extra)) return null;
  }
  const digits = intPart + frac.slice(0, exp).padEnd(exp, '0');
  return BigInt(digits);
}

/**
 * Parses an exact non-negative integer as users type it: `1000000`, `1_000_000`, `1e6`, `2.5e9`,
 * `2^64`, and sums or differences of those (`2^64-1`, `1e12+1e6`). Throws an InputError naming `field`.
 */
export function parseInteger(field: string, text: string | number | bigint, options: { min?: bigint; max?: bigint } = {}): bigint {
  const min = options.min ?? 0n;
  const max = options.max ?? U64_MAX;
  let value: bigint | null;
  if (typeof text === 'bigint') value = text;
  else if (typeof text === 'number') value = Number.isSafeInteger(text) ? BigInt(text) : null;
  else if (typeof text !== 'string') value = null;
  else if (text.length > MAX_NUMBER_TEXT) throw new InputError(field, `${field} is ${text.length} characters long; a number is at most ${MAX_NUMBER_TEXT} (got ${quoted(text)})`);
  else value = parseExpression(text.trim());
  if (value === null) {
    throw new InputError(field, `${field} must be an integer like 1000000, 1_000_000, 1e6 or 2^32 (got ${quoted(text)})`);
  }
  if (value < min) throw new InputError(field, min === 1n ? `${field} must be a positive integer (got ${short(text)})` : `${field} must be at least ${min} (got ${short(text)})`);
  if (value > max) throw new InputError(field, `${field} must be at most ${max} (got ${short(text)})`);
  return value;
}

function parseExpression(text: string): bigint | null {
  if (text === '') return null;
  const parts = text.split(/(?=[+-])/);
  let total = 0n;
  for (let i = 0; i < parts.length; i++) {
    let part = parts[i] ?? '';
    let sign = 1n;
    if (part.startsWith('+') || part.startsWith('-')) {
      if (i === 0 && part.startsWith('-')) sign = -1n;
      else if (i === 0) return null;
      else sign = part.startsWith('-') ? -1n : 1n;
      part = part.slice(1);
    }
    const v = parseTerm(part.trim());
    if (v === null) return null;
    total += sign * v;
  }
  return total;
}

/** A closed range [start, end] cut into chunks of `chunk` numbers. */
export interface ChunkedRange {
  start: bigint;
  end: bigint;
  chunk: bigint;
}

/** Number of chunks of a range: ceil((end - start + 1) / chunk). */
export function chunkCount(r: ChunkedRange): number {
  const n = (r.end - r.start) / r.chunk + 1n;
  return Number(n);
}

/** Bounds of chunk `index`: [start + i*chunk, min(end, start + (i+1)*chunk - 1)]. */
export function chunkBounds(r: ChunkedRange, index: number): { start: bigint; end: bigint } {
  const i = BigInt(index);
  const s = r.start + i * r.chunk;
  const e = s + r.chunk - 1n;
  return { start: s, end: e < r.end ? e : r.end };
}

/** Bounds of the span of `span` chunks from `index` (a lease of a job sized by time). */
export function spanBounds(r: ChunkedRange, index: number, span: number): { start: bigint; end: bigint } {
  const start = r.start + BigInt(index) * r.chunk;
  const last = start + BigInt(span) * r.chunk - 1n;
  return { start, end: last < r.end ? last : r.end };
}

/** Validates a range and its chunk size; every message names the flag that was wrong. */
export function makeRange(start: bigint, end: bigint, chunk: bigint): ChunkedRange {
  if (end < start) throw new InputError('--end', `--end must be at least --start (got --start ${start} --end ${end})`);
  if (chunk < 1n) throw new InputError('--chunk', `--chunk must be a positive integer (got ${chunk})`);
  const r = { start, end, chunk };
  const n = (end - start) / chunk + 1n;
  if (n > BigInt(MAX_CHUNKS)) {
    throw new InputError('--chunk', `--chunk ${chunk} cuts [${start}, ${end}] into ${n} chunks, more than ${MAX_CHUNKS}; use a larger --chunk`);
  }
  return r;
}

/** A default chunk size: about `target` numbers per chunk, at least `minChunks` chunks when the range allows. */
export function defaultChunk(start: bigint, end: bigint, target: bigint, minChunks: number): bigint {
  const width = end - start + 1n;
  let chunk = target;
  const perMin = width / BigInt(Math.max(1, minChunks));
  if (perMin < chunk) chunk = perMin;
  if (chunk < 1n) chunk = 1n;
  // never more chunks than MAX_CHUNKS
  const floor = (width + BigInt(MAX_CHUNKS) - 1n) / BigInt(MAX_CHUNKS);
  return chunk < floor ? floor : chunk;
}
