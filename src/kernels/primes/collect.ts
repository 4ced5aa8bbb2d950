/**
 * What happens to a sieved segment: counting with first / last / largest gap (count mode), or the same
 * plus the LEB128 gap list (list mode). Positions are numbers relative to the current pass base.
 *
 * The running state lives in a Float64Array so that the per-segment functions stay monomorphic:
 */
import { OFF32 } from './tables.js';

export const ST_COUNT = 0;
/** 1 once a prime has been seen (then ST_LAST is valid). */
export const ST_HAS_LAST = 1;
/** Position of the last prime seen, relative to the current pass base (may be negative after a pass). */
export const ST_LAST = 2;
export const ST_GAP = 3;
/** Position of the lower prime of the largest gap, relative to the pass base, valid when ST_GAP_NEW = 1. */
export const ST_GAP_AFTER = 4;
export const ST_GAP_NEW = 5;
/** Position of the first prime of the call, when found in this pass (else -1). */
export const ST_FIRST = 6;
/** Bytes written to the list output. */
export const ST_OUT = 7;
export const ST_SIZE = 8;

function lowPos(w: number): number {
  return OFF32[31 - Math.clz32(w & -w)]!;
}
function highPos(w: number): number {
  return OFF32[31 - Math.clz32(w)]!;
}

/** The largest-gap scan of count mode in WebAssembly (wasm.ts gapScan), over the segment's bytes. */
export interface GapScanner {
  /** The largest gap of bytes [i0, i1] (both non-zero) if larger than g (>= 60), else g. */
  gapScan(i0: number, i1: number, g: number): number;
  /** Where gapScan's last larger gap begins: numbers from the segment's first byte. */
  gapAt(): number;
}

/** Count mode: statistics of one segment of c primes (bytes [0, segLen) of b8/b32; zero after, up to a multiple of 8). */
export function countSegment(
  b8: Uint8Array,
  b32: Int32Array,
  segLen: number,
  segBase: number,
  st: Float64Array,
  c: number,
  scanner: GapScanner,
): void {
  if (c === 0) return;
  const nWords = (segLen + 3) >>> 2;
  st[ST_COUNT] = st[ST_COUNT]! + c;
  let f = 0;
  while (b32[f] === 0) f++;
  const firstPos = segBase + 120 * f + lowPos(b32[f]!);
  if (st[ST_HAS_LAST] === 1) {
    const g = firstPos - st[ST_LAST]!;
    if (g > st[ST_GAP]!) {
      st[ST_GAP] = g;
      st[ST_GAP_AFTER] = st[ST_LAST]!;
      st[ST_GAP_NEW] = 1;
    }
  } else {
    st[ST_HAS_LAST] = 1;
    st[ST_FIRST] = firstPos;
  }
  let l = nWords - 1;
  while (b32[l] === 0) l--;
  const last = 4 * l + lastByte(b32[l]!);
  // the byte of the last prime looked at, from which the scan goes on
  let from = 4 * f;
  if (st[ST_GAP]! < 60) from = gapsAll(b32, f, l, segBase, firstPos, st);
  else while (b8[from] === 0) from++;
  if (from < last) {
    const G = st[ST_GAP]!;
    const g = scanner.gapScan(from, last, G);
    if (g > G) {
      st[ST_GAP] = g;
      st[ST_GAP_AFTER] = segBase + scanner.gapAt();
      st[ST_GAP_NEW] = 1;
    }
  }
  st[ST_LAST] = segBase + 120 * l + highPos(b32[l]!);
}

/** The highest non-zero byte (0-3) of a non-zero word. */
function lastByte(word: number): number {
  return (31 - Math.clz32(word)) >>> 3;
}

/**
 * Every gap between the primes of words [f, l] while the largest is below 60 (a call's first segment
 * starts with none known). Returns the byte of the last prime looked at: once the largest gap reaches 60,
 * the highest non-zero byte of the word it is in (else the last byte of word l); the rest goes to the
 * scan in WebAssembly, which needs a gap of 60 to pass over most bytes unread.
 */
function gapsAll(b32: Int32Array, f: number, l: number, segBase: number, firstPos: number, st: Float64Array): number {
  let prev = firstPos;
  let G = st[ST_GAP]!;
  for (let k = f; k <= l; k++) {
    const word = b32[k]!;
    let w = word;
    const base = segBase + 120 * k;
    while (w !== 0) {
      const t = w & -w;
      w ^= t;
      const pos = base + OFF32[31 - Math.clz32(t)]!;
      if (pos - prev > G) {
        G = pos - prev;
        st[ST_GAP] = G;
        st[ST_GAP_AFTER] = prev;
        st[ST_GAP_NEW] = 1;
      }
      prev = pos;
    }
    if (G >= 60) return 4 * k + lastByte(word);
  }
  return 4 * l + 3;
}

/**
 * List mode: appends the LEB128 gap of every prime of the segment to out (which must have room for
 * 2 bytes per prime), updating the statistics. Requires ST_HAS_LAST = 1 (the caller writes the first
 * prime of the call itself).
 */
export function listSegment(b32: Int32Array, segLen: number, segBase: number, st: Float64Array, out: Uint8Array): void {
  const nWords = (segLen + 3) >>> 2;
  let prev = st[ST_LAST]!;
  let G = st[ST_GAP]!;
  let n = st[ST_OUT]!;
  let count = 0;
  for (let k = 0; k < nWords; k++) {
    let w = b32[k]!;
    if (w === 0) continue;
    const base = segBase + 120 * k;
    do {
      const t = w & -w;
      w ^= t;
      const pos = base + OFF32[31 - Math.clz32(t)]!;
      let g = pos - prev;
      if (g > G) {
        G = g;
        st[ST_GAP] = G;
        st[ST_GAP_AFTER] = prev;
        st[ST_GAP_NEW] = 1;
      }
      prev = pos;
      count++;
      if (g < 128) out[n++] = g;
      else {
        // Prime gaps below 2^64 are < 2^14: two bytes.
        out[n++] = (g & 127) | 128;
        g >>>= 7;
        while (g >= 128) {
          out[n++] = (g & 127) | 128;
          g >>>= 7;
        }
        out[n++] = g;
      }
    } while (w !== 0);
  }
  st[ST_LAST] = prev;
  st[ST_OUT] = n;
  st[ST_COUNT] = st[ST_COUNT]! + count;
}

/** Position of the first prime in the segment, or -1. */
export function firstInSegment(b32: Int32Array, segLen: number, segBase: number): number {
  const nWords = (segLen + 3) >>> 2;
  for (let k = 0; k < nWords; k++) {
    const w = b32[k]!;
    if (w !== 0) return segBase + 120 * k + lowPos(w);
  }
  return -1;
}
