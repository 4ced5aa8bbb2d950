export * from './errors.js';
export * from './framed-connection.js';
export * from './server.js';
export * from './client.js';
export * from './local-link.js';
