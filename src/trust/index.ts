export * from './pki.js';
export * from './join-token.js';
export * from './auth.js';
export * from './cluster-dir.js';
export * from './code-signing.js';
