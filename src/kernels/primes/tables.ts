/**
 * Wheel-30 tables for the sieve.
 *
 * Bit layout: byte k of a sieve array stands for the 30 numbers [base + 30k, base + 30k + 29] (base a
 * multiple of 30); bit b of that byte is the number base + 30k + WHEEL[b]. Only the 8 residues coprime to
 * 30 are kept, so a byte holds 8 candidates.
 *
 * A sieving prime p = 30q + r (r coprime to 30, class rc = index of r in WHEEL) crosses off p*m for m
 * coprime to 30. Its "wheel state" ws = rc * 8 + j says that the next multiple to cross off has
 * m = WHEEL[j] (mod 30). From one multiple to the next the byte index grows by q * DQ[ws] + DC[ws] and
 * the state becomes NEXT_WS[ws]; the bit to clear is given by MASK[ws] (a byte with that bit cleared).
 *
 * For the unrolled loop of small primes the 8 multiples of one turn of the wheel (m = 30k + 1 ... 30k + 29)
 * sit at byte offsets q * (WHEEL[j] - 1) + UNROLL_ADD[rc * 8 + j] from the byte of the m = 30k + 1
 * multiple, and one turn advances by p bytes.
 */

export const WHEEL: readonly number[] = [1, 7, 11, 13, 17, 19, 23, 29];

/** Index of residue r (mod 30) in WHEEL, or -1 when r is not coprime to 30. */
export const BIT_OF_RESIDUE = new Int8Array(30).fill(-1);
for (let b = 0; b < 8; b++) BIT_OF_RESIDUE[WHEEL[b]!] = b;

/** Offset (within a 32-bit word = 4 bytes = 120 numbers) of the number of bit i, i in [0, 32). */
export const OFF32 = new Uint8Array(32);
for (let i = 0; i < 32; i++) OFF32[i] = (i >> 3) * 30 + WHEEL[i & 7]!;

/** WHEEL[j + 1] - WHEEL[j], with WHEEL[8] = 31. */
const DW = [6, 4, 2, 4, 2, 4, 6, 2];

export const MASK = new Uint8Array(64);
export const DQ = new Uint8Array(64);
export const DC = new Uint8Array(64);
export const NEXT_WS = new Uint8Array(64);
export const UNROLL_ADD = new Uint8Array(64);

for (let rc = 0; rc < 8; rc++) {
  const r = WHEEL[rc]!;
  for (let j = 0; j < 8; j++) {
    const ws = rc * 8 + j;
    const prod = r * WHEEL[j]!;
    const bit = BIT_OF_RESIDUE[prod % 30]!;
    MASK[ws] = ~(1 << bit) & 0xff;
    DQ[ws] = DW[j]!;
    DC[ws] = Math.floor(((prod % 30) + r * DW[j]!) / 30);
    NEXT_WS[ws] = rc * 8 + ((j + 1) & 7);
    UNROLL_ADD[ws] = Math.floor(prod / 30);
  }
}

/**
 * The bucket sieve's mod-210 wheel: big sieving primes skip the multipliers divisible by 7 as well (the
 * pre-sieve crossed those multiples off), 48 multipliers in 210 instead of 56. A big prime p = 30q + r
 * (rc = index of r in WHEEL) with next multiplier m = W210[j] (mod 210) is in state ws = rc * 48 + j;
 * STEP210[ws] = MASK | DM << 8 | DC << 12 | NEXT << 16: clear the bit MASK leaves out, add q * DM + DC to
 * the byte index (DM = the gap to the next multiplier), go to state NEXT.
 * NEXT210[t] = delta | j << 4: the smallest W210[j] = t + delta (mod 210) with delta >= 0.
 */
export const W210: readonly number[] = Array.from({ length: 210 }, (_, m) => m).filter((m) => m % 2 && m % 3 && m % 5 && m % 7);
export const STEP210 = new Int32Array(8 * 48);
export const NEXT210 = new Uint16Array(210);
for (let rc = 0; rc < 8; rc++) {
  const r = WHEEL[rc]!;
  for (let j = 0; j < 48; j++) {
    const m = W210[j]!;
    const dm = j === 47 ? W210[0]! + 210 - m : W210[j + 1]! - m;
    const s = (r * m) % 30;
    const mask = ~(1 << BIT_OF_RESIDUE[s]!) & 0xff;
    const dc = Math.floor((s + r * dm) / 30);
    STEP210[rc * 48 + j] = mask | (dm << 8) | (dc << 12) | ((rc * 48 + ((j + 1) % 48)) << 16);
  }
}
for (let t = 0; t < 210; t++) {
  let j = 0;
  while (j < 48 && W210[j]! < t) j++;
  NEXT210[t] = j === 48 ? (W210[0]! + 210 - t) | (0 << 4) : (W210[j]! - t) | (j << 4);
}
/** Index of r (mod 210) in W210, or -1. */
export const INDEX210 = new Int8Array(210).fill(-1);
W210.forEach((m, j) => (INDEX210[m] = j));

/** For t in [0, 30): the smallest element of WHEEL that is >= t, as [value, index]. */
export const NEXT_WHEEL_VALUE = new Uint8Array(30);
export const NEXT_WHEEL_INDEX = new Uint8Array(30);
for (let t = 0; t < 30; t++) {
  let j = 0;
  while (WHEEL[j]! < t) j++;
  NEXT_WHEEL_VALUE[t] = WHEEL[j]!;
  NEXT_WHEEL_INDEX[t] = j;
}

/** Bits of a byte whose numbers are >= t (t in [0, 31]): KEEP_FROM[t]. */
export const KEEP_FROM = new Uint8Array(32);
/** Bits of a byte whose numbers are <= t (t in [0, 31]): KEEP_UPTO[t]. */
export const KEEP_UPTO = new Uint8Array(32);
for (let t = 0; t < 32; t++) {
  let from = 0;
  let upto = 0;
  for (let b = 0; b < 8; b++) {
    if (WHEEL[b]! >= t) from |= 1 << b;
    if (WHEEL[b]! <= t) upto |= 1 << b;
  }
  KEEP_FROM[t] = from;
  KEEP_UPTO[t] = upto;
}

export const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
