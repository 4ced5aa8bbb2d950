import { describe, expect, it } from 'vitest';
import { listPrimes, decodePrimeList } from './primes.js';
import { U64_MAX as MAX_U64 } from '../core/index.js';
import { isPrime } from './primes.js';

describe('isPrime', () => {
  it('agrees with the sieve on [0, 5000] and around 10^12', () => {
    for (const lo of [0n, 10n ** 12n]) {
      const primes = new Set(decodePrimeList(lo, listPrimes(lo, lo + 5000n).encoded));
      for (let n = lo; n <= lo + 5000n; n++) expect(isPrime(n)).toBe(primes.has(n));
    }
  });

  it('finds the ten largest primes below 2^64 (2^64 - 59, - 83, ... - 363)', () => {
    const below = [59n, 83n, 95n, 179n, 189n, 257n, 279n, 323n, 353n, 363n];
    const found: bigint[] = [];
    for (let k = 1n; k <= 400n; k++) if (isPrime(MAX_U64 + 1n - k)) found.push(k);
    expect(found).toEqual(below);
  });

  it('knows strong pseudoprimes to several bases are composite', () => {
    for (const n of [2047n, 1373653n, 3215031751n, 3825123056546413051n, 318665857834031151167461n % MAX_U64]) expect(isPrime(n)).toBe(false);
  });

  it('refuses numbers beyond 2^64 - 1', () => {
    expect(() => isPrime(MAX_U64 + 1n)).toThrow(RangeError);
  });
});
