/**
 * Seed compatibility: the head speaks the wire formats of the seed scripts (docs/seed-compat.md).
 * - seed 000's text protocol: Python clients take chunks of primes --list jobs through the ledger
 * - seed 004's temperature reports: legacy tiles on the dashboard
 * - seed 004's prime stream: an on-disk "legacy stream" view
 */
export { compatLimits, startCompat } from './compat.js';
export type { Compat, CompatLimits, CompatOptions, CompatPorts, CompatStatus, PrimeRefusals } from './compat.js';
export { compatRoutes } from './routes.js';
export { addCompatFlags, CompatConfig, compatWiring } from './wire.js';
export type { CompatConfigValues, CompatWiring } from './wire.js';
export { AllowList, DEFAULT_ALLOW, plainAddress } from './allow-list.js';
export { AnswerChecker } from './answer-checker.js';
export type { TextChunk, Verdict } from './answer-checker.js';
export { PrimeStreamStore } from './prime-stream-store.js';
export type { PrimeStreamSnapshot } from './prime-stream-store.js';
export { MAX_SEED004_BYTES, parsePrimeValue, parseTemperatureReport } from './seed004.js';
export type { TextClientState, TextServerStats } from './text-server.js';
