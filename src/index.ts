/**
 * The public API of the `bramble` package for task authors: `defineTask`, `param` and their types.
 *
 * ```ts
 * import { defineTask, param } from 'bramble';
 * export default defineTask({ name: 'sum-squares', ... });
 * ```
 */
export { defineTask, param, badSummary } from './tasks/define-task.js';
export type { Admission, AdmitLimits, ChunkContext, ChunkOutput, ModuleSandbox, Folder, Live, OutputFormat, Param, ParamInfo, ParamType, ParamValues, Params, ResultJson, Summary, Task, TaskDefinition } from './tasks/define-task.js';
export { check } from './tasks/summary.js';
