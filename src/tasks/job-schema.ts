import type { z } from 'zod';
import type { Task, Zod } from './define-task.js';


/**
 * The body of `POST /api/jobs` for one task, as a zod schema (for the OpenAPI document). zod is passed
 * in, so that the task layer loads without it (the CLI's help, every slot thread).
 */
export function jobBodySchema(t: Task, z: Zod): z.ZodType {
  const scalar = z.union([z.string(), z.number()]);
  const params = Object.fromEntries(t.paramInfo.map((p) => [p.name, p.schema(z).optional().describe(`${p.flag}: ${p.description}`)]));
  return z
    .object({
      task: z.literal(t.name),
      ...(t.range ? {} : { start: scalar.describe('first number of the range (1e6, 2^32 work as text)'), end: scalar.describe('last number, inclusive') }),
      chunk: scalar.optional().describe('numbers per chunk'),
      chunkTime: scalar.optional().describe('seconds of work per lease when no chunk is given (default 2)'),
      priority: scalar.optional().describe('higher runs first (default 0)'),
      maxAttempts: scalar.optional().describe('tries before a chunk is quarantined (default 3)'),
      id: z.string().optional().describe('a job id of your own (default: made by the head)'),
      params: z.strictObject(params).optional(),
    })
    .strict()
    .describe(t.description);
}
