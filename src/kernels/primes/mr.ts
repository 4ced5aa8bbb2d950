/**
 * Deterministic Miller-Rabin for odd n < 2^64 (bases 2, 325, 9375, 28178, 450775, 9780504, 1795265022,
 * which have no common strong pseudoprime below 2^64). Used only to finish short ranges high up, where
 * setting up every sieving prime up to sqrt(end) would cost far more than testing the few numbers that
 * survive sieving by the small primes.
 */
const BASES = [2n, 325n, 9375n, 28178n, 450775n, 9780504n, 1795265022n];

function modPow(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n;
  b %= m;
  while (e > 0n) {
    if ((e & 1n) === 1n) r = (r * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return r;
}

/** n odd, 2^20 < n < 2^64, with no prime factor below 2^20 (so no base is a multiple of n). */
export function isPrimeMR(n: bigint): boolean {
  let d = n - 1n;
  let s = 0;
  while ((d & 1n) === 0n) {
    d >>= 1n;
    s++;
  }
  const m1 = n - 1n;
  outer: for (const base of BASES) {
    const a = base % n;
    if (a === 0n) continue;
    let x = modPow(a, d, n);
    if (x === 1n || x === m1) continue;
    for (let i = 1; i < s; i++) {
      x = (x * x) % n;
      if (x === m1) continue outer;
    }
    return false;
  }
  return true;
}
