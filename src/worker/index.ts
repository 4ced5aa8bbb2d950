export * from './agent.js';
export * from './telemetry.js';
export { ExecRunner, EXEC_BASE_DIR } from './exec-runner.js';
