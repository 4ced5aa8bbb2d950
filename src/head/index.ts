export * from './head.js';
export * from './nodes.js';
export * from './main.js';
export * from './http-api.js';
