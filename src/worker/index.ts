export * from './agent.js';
export * from './telemetry.js';
