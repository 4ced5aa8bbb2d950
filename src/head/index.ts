export * from './head.js';
export * from './nodes.js';
export * from './main.js';
// the HTTP API's code (fastify) loads only where a head serves HTTP: main.ts imports it then
export type { HttpApiOptions, HttpLimits } from './http-api.js';
export * from './settings.js';
export { WorkerSessions } from './worker-sessions.js';
export { ResultBatcher } from './result-batcher.js';
export type { ResultSink } from './result-batcher.js';
export { JobReports } from './job-reports.js';
export { HeadEvents } from './head-events.js';
export { startHaHead } from './ha.js';
export type { HaHead, HaHeadOptions, HaStatus } from './ha.js';
