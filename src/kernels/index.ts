export * from './primes.js';
export { isqrt } from './primes/engine.js';
export * from './collatz.js';
export * from './life.js';
export * from './rle.js';
export * from './plausible.js';
export * from './life-strip.js';
