export * from './tasks.js';
export * from './primes.js';
export * from './collatz.js';
export * from './life.js';
export * from './rle.js';
import './fixtures.js';
export * from './plan.js';
