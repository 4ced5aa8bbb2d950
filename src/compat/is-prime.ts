/** 2^64 - 1: the largest number bramble's kernels (and these checks) handle. */
export const MAX_U64 = (1n << 64n) - 1n;

const SMALL = [2n, 3n, 5n, 7n, 11n, 13n, 17n, 19n, 23n, 29n, 31n, 37n];

function powMod(base: bigint, exp: bigint, mod: bigint): bigint {
  let result = 1n;
  let b = base % mod;
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % mod;
    b = (b * b) % mod;
    e >>= 1n;
  }
  return result;
}

/**
 * Exact primality of 0 <= n < 3.3 * 10^24 (so every 64-bit number): Miller-Rabin with the first twelve
 * primes as bases, which has no strong pseudoprime below that bound (Sorenson and Webster, 2015).
 * Used for single values from the network (the seed 004 prime stream, error messages); ranges are the
 * sieve's job.
 */
export function isPrime(n: bigint): boolean {
  if (n < 0n || n > MAX_U64) throw new RangeError(`isPrime takes 0 <= n <= 2^64 - 1 (got ${n})`);
  if (n < 2n) return false;
  for (const p of SMALL) {
    if (n === p) return true;
    if (n % p === 0n) return false;
  }
  let d = n - 1n;
  let s = 0;
  while ((d & 1n) === 0n) {
    d >>= 1n;
    s++;
  }
  outer: for (const a of SMALL) {
    let x = powMod(a, d, n);
    if (x === 1n || x === n - 1n) continue;
    for (let r = 1; r < s; r++) {
      x = (x * x) % n;
      if (x === n - 1n) continue outer;
    }
    return false;
  }
  return true;
}
