// The Life kernels only, for a Life part's thread (worker/life-part-thread.ts): the kernels' own
// index also loads the primes and collatz kernels, which such a thread never runs.
export * from '../life.js';
export * from '../life-strip.js';
export * from '../rle.js';
