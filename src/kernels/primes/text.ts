/** Decoding of the compact prime list: LEB128 varints, (first - start) then each successive gap. */

function bad(msg: string): never {
  throw new RangeError(`encoded: ${msg}`);
}

/** Reads the varint at pos; returns [value, next pos]. Values above 2^53 are rejected. */
export function readVarint(enc: Uint8Array, pos: number): [number, number] {
  let v = 0;
  let mul = 1;
  for (;;) {
    if (pos >= enc.length) bad('truncated varint');
    const b = enc[pos++]!;
    v += (b & 127) * mul;
    if (b < 128) break;
    mul *= 128;
    if (mul > 2 ** 56) bad('varint too long');
  }
  if (!Number.isSafeInteger(v)) bad('varint too large');
  return [v, pos];
}

export function decodeList(start: bigint, enc: Uint8Array): bigint[] {
  const out: bigint[] = [];
  if (enc.length === 0) return out;
  const first = readVarint(enc, 0);
  let v = first[0];
  let pos = first[1];
  let cur = start + BigInt(v);
  out.push(cur);
  while (pos < enc.length) {
    [v, pos] = readVarint(enc, pos);
    if (v === 0) bad('zero gap');
    cur += BigInt(v);
    out.push(cur);
  }
  return out;
}

const DIGITS = 24;

/**
 * Decimal text of the list, each prime followed by "\n", in pieces of about maxChars characters. The
 * current prime is kept as ASCII digits and each gap is added digit-wise, so the cost per prime is a few
 * byte operations whatever the size of the numbers (up to 2^64 and beyond).
 */
export function* listText(start: bigint, enc: Uint8Array, maxChars: number): Generator<string> {
  if (enc.length === 0) return;
  const piece = Math.max(1, Math.floor(maxChars));
  const outBuf = new Uint8Array(Math.min(piece, 1 << 24) + DIGITS + 2);
  const limit = outBuf.length - DIGITS - 2;
  const decoder = new TextDecoder();
  const d = new Uint8Array(DIGITS);
  const first = readVarint(enc, 0);
  const v = first[0];
  let pos = first[1];
  const firstText = (start + BigInt(v)).toString();
  if (firstText.length > DIGITS - 2) bad('value too large');
  d.fill(48);
  for (let i = 0; i < firstText.length; i++) d[DIGITS - firstText.length + i] = firstText.charCodeAt(i);
  let lead = DIGITS - firstText.length; // index of the most significant digit
  let o = 0;
  const n = enc.length;
  for (;;) {
    for (let i = lead; i < DIGITS; i++) outBuf[o++] = d[i]!;
    outBuf[o++] = 10;
    if (o >= limit || o >= piece) {
      yield decoder.decode(outBuf.subarray(0, o));
      o = 0;
    }
    if (pos >= n) break;
    // Next gap (inline varint read).
    let b = enc[pos++]!;
    let g = b & 127;
    if (b >= 128) {
      let mul = 128;
      do {
        if (pos >= n) bad('truncated varint');
        b = enc[pos++]!;
        g += (b & 127) * mul;
        mul *= 128;
        if (mul > 2 ** 56) bad('varint too long');
      } while (b >= 128);
    }
    if (g === 0) bad('zero gap');
    let i = DIGITS - 1;
    let carry = g;
    while (carry !== 0) {
      if (i < 1) bad('value too large');
      const s = d[i]! - 48 + (carry % 10);
      carry = Math.floor(carry / 10);
      if (s >= 10) {
        d[i] = s - 10 + 48;
        carry += 1;
      } else d[i] = s + 48;
      i--;
    }
    if (i + 1 < lead) lead = i + 1;
  }
  if (o > 0) yield decoder.decode(outBuf.subarray(0, o));
}

/** What an encoded list says of itself, to compare with the chunk's summary. */
export interface ListFacts {
  count: number;
  first: bigint | null;
  last: bigint | null;
  /** The largest gap between consecutive listed primes and the prime before it (null under 2 primes). */
  gap: { gap: bigint; after: bigint } | null;
}

/**
 * Walks an encoded list without building it (one varint read per prime): its count, first, last and
 * largest gap; throws on a malformed encoding or a value beyond `end` (issue 17, item 16).
 */
export function listFacts(start: bigint, end: bigint, enc: Uint8Array): ListFacts {
  if (enc.length === 0) return { count: 0, first: null, last: null, gap: null };
  const width = end - start;
  if (width > BigInt(Number.MAX_SAFE_INTEGER)) bad('chunk too wide to list');
  const limit = Number(width);
  let [off, pos] = readVarint(enc, 0);
  if (off > limit) bad('first value past the chunk');
  const first = off;
  let count = 1;
  let gap = 0;
  let after = -1;
  while (pos < enc.length) {
    let g: number;
    [g, pos] = readVarint(enc, pos);
    if (g === 0) bad('zero gap');
    if (g > gap) {
      gap = g;
      after = off;
    }
    off += g;
    if (off > limit) bad('value past the chunk');
    count++;
  }
  return { count, first: start + BigInt(first), last: start + BigInt(off), gap: after < 0 ? null : { gap: BigInt(gap), after: start + BigInt(after) } };
}
