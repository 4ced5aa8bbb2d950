export * from './errors.js';
export * from './frame-decoder.js';
export * from './messages.js';
export * from './msgpack-limits.js';
