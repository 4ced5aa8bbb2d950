export * from './cluster.js';
export * from './sessions.js';
