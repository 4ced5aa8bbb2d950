/**
 * Tasks: one file per task in `builtin/`, each written with {@link defineTask}; the registry, the job
 * planner and the descriptions that the CLI, the HTTP API and the dashboard are generated from.
 */
export * from './define-task.js';
export * from './summary.js';
export * from './registry.js';
export * from './describe.js';
export * from './job-schema.js';
export * from './plan.js';
export * from './life-pattern.js';
import './fixtures.js';
export * from './code/module-task.js';
export * from './code/bundle.js';
export * from './code/sandbox.js';
