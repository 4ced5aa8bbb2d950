export * from './errors.js';
export * from './range.js';
export * from './address.js';
export * from './clock.js';
export * from './job.js';
export * from './journal.js';
export * from './ledger.js';
export * from './repeat-limiter.js';
