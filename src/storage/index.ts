export * from './errors.js';
export * from './sqlite-journal.js';
export * from './memory-journal.js';
