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

/** Count mode: statistics of one segment of c primes (bytes [0, segLen) of b8/b32; zero after, up to a multiple of 8). */
export function countSegment(
  b8: Uint8Array,
  b32: Int32Array,
  segLen: number,
  segBase: number,
  st: Float64Array,
  c: number,
  zeroWord?: (from: number, to: number) => number,
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
  const G = st[ST_GAP]!;
  if (G < 60) gapsAll(b8, b32, f, l, segBase, firstPos, st);
  else if (G < 240) gapsByByte(b8, b32, f, l, segBase, st);
  else gapsByWord(b32, f, l, segBase, st, zeroWord);
  st[ST_LAST] = segBase + 120 * l + highPos(b32[l]!);
}

/**
 * Every gap between the primes of words [f, l] while the largest is below 60; once it reaches 60, the
 * rest of the segment goes to gapsByByte (a gap of 60 or more holds a whole zero byte), after the gap
 * into the next word with a prime. A call's first segment starts with no gap known: it used to look at
 * each of its primes (~2.5 ms of a 2e7-number chunk, about half its time).
 */
function gapsAll(b8: Uint8Array, b32: Int32Array, f: number, l: number, segBase: number, firstPos: number, st: Float64Array): void {
  let prev = firstPos;
  let G = st[ST_GAP]!;
  for (let k = f; k <= l; k++) {
    let w = b32[k]!;
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
    if (G >= 60 && k < l) {
      let m = k + 1;
      while (b32[m] === 0) m++; // b32[l] !== 0
      const next = segBase + 120 * m + lowPos(b32[m]!);
      if (next - prev > G) {
        st[ST_GAP] = next - prev;
        st[ST_GAP_AFTER] = prev;
        st[ST_GAP_NEW] = 1;
      }
      gapsByByte(b8, b32, m, l, segBase, st);
      return;
    }
  }
}

/**
 * Gaps when the largest so far is >= 60: a larger gap holds a whole zero byte (30 numbers), so only runs
 * of zero bytes are looked at, and words without one are passed over four bytes at a time. From 120 on,
 * a larger gap holds three zero bytes in a row, so an aligned zero half-word: words whose halves are both
 * non-zero are passed over (at 1e9, most words have a zero byte but few a zero half-word).
 */
function gapsByByte(b8: Uint8Array, b32: Int32Array, f: number, l: number, segBase: number, st: Float64Array): void {
  let lastByte = 4 * l + 3;
  while (b8[lastByte] === 0) lastByte--;
  let i = 4 * f;
  while (b8[i] === 0) i++;
  // invariant: b8[nz] !== 0, and no byte in (nz, i) is
  let nz = i;
  i++;
  let G = st[ST_GAP]!;
  while (i < lastByte) {
    if ((i & 3) === 0 && i + 3 < lastByte) {
      const w = b32[i >>> 2]!;
      if (G >= 120 ? (w & 0xffff) !== 0 && w >>> 16 !== 0 : ((w - 0x01010101) & ~w & 0x80808080) === 0) {
        nz = w >>> 24 !== 0 ? i + 3 : i + 2; // the high half is non-zero
        i += 4;
        continue;
      }
    }
    if (b8[i] !== 0) {
      nz = i++;
      continue;
    }
    const prevPos = segBase + 30 * nz + OFF32[31 - Math.clz32(b8[nz]!)]!;
    let c = i + 1;
    while (b8[c] === 0) c++;
    const v = b8[c]!;
    const nextPos = segBase + 30 * c + OFF32[31 - Math.clz32(v & -v)]!;
    if (nextPos - prevPos > G) {
      G = nextPos - prevPos;
      st[ST_GAP] = G;
      st[ST_GAP_AFTER] = prevPos;
      st[ST_GAP_NEW] = 1;
    }
    nz = c;
    i = c + 1;
  }
}

/** Gaps when the largest so far is >= 240: a larger gap contains a whole zero word (120 numbers). */
function gapsByWord(b32: Int32Array, f: number, l: number, segBase: number, st: Float64Array, zeroWord?: (from: number, to: number) => number): void {
  let G = st[ST_GAP]!;
  let k = f + 1; // invariant: b32[k - 1] !== 0
  while (k < l) {
    if (b32[k] !== 0) {
      if (zeroWord === undefined) {
        k++;
        continue;
      }
      // the next zero word, found in WebAssembly (the segment is BUF there)
      k = zeroWord(k + 1, l);
      if (k >= l) break;
    }
    const prevPos = segBase + 120 * (k - 1) + highPos(b32[k - 1]!);
    let c = k + 1;
    while (b32[c] === 0) c++;
    const nextPos = segBase + 120 * c + lowPos(b32[c]!);
    if (nextPos - prevPos > G) {
      G = nextPos - prevPos;
      st[ST_GAP] = G;
      st[ST_GAP_AFTER] = prevPos;
      st[ST_GAP_NEW] = 1;
    }
    k = c + 1;
  }
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
