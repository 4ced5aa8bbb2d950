import { readFileSync } from 'node:fs';
import type { z as Z } from 'zod';
import { describeTasks, jobBodySchema, publicTasks } from '../tasks/index.js';
import { zod } from '../core/index.js';

const z = zod();

/** JSON Schema of a zod schema as a request or response body (transforms are described by their input). */
function schema(s: Z.ZodType): Record<string, unknown> {
  const { $schema: _s, ...rest } = z.toJSONSchema(s, { io: 'input', unrepresentable: 'any', target: 'openapi-3.0' }) as Record<string, unknown>;
  return rest;
}

const error = { $ref: '#/components/schemas/Error' };
const jobId = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
const json = (s: unknown): unknown => ({ content: { 'application/json': { schema: s } } });
const errors = { '400': { description: 'bad input, naming the field', ...(json(error) as object) }, '401': { description: 'missing or wrong admin token', ...(json(error) as object) }, '404': { description: 'no such job', ...(json(error) as object) } };

/**
 * The OpenAPI 3 document of the job API (`GET /api/openapi.json`): the submit body per task is made
 * from the same zod schemas that validate it, so it cannot drift from what the head accepts.
 */
export function openApiDocument(): Record<string, unknown> {
  const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  const bodies = Object.fromEntries(publicTasks().map((t) => [`Submit_${t.name}`, schema(jobBodySchema(t, z))]));
  const chunks = { type: 'object', properties: Object.fromEntries(['total', 'done', 'leased', 'pending', 'failed'].map((k) => [k, { type: 'integer' }])) };
  return {
    openapi: '3.0.3',
    info: { title: 'bramble head API', version, description: 'Every route needs the admin token: `Authorization: Bearer TOKEN`.' },
    components: {
      securitySchemes: { admin: { type: 'http', scheme: 'bearer' } },
      schemas: {
        ...bodies,
        Submit: { oneOf: publicTasks().map((t) => ({ $ref: `#/components/schemas/Submit_${t.name}` })), discriminator: { propertyName: 'task' } },
        JobStatus: {
          type: 'object',
          description: 'a job: its state, chunk counts, progress, rate and ETA; `result` holds the live view while it runs',
          properties: {
            id: { type: 'string' },
            task: { type: 'string', enum: publicTasks().map((t) => t.name) },
            state: { type: 'string', enum: ['queued', 'running', 'done', 'failed', 'partial', 'cancelled'] },
            params: { type: 'object' },
            chunks,
            progress: { type: 'number' },
            rate: { type: 'number', nullable: true },
            etaSeconds: { type: 'number', nullable: true },
            error: { type: 'string', nullable: true },
            existing: { type: 'boolean', description: 'in a submit\'s answer only: true when the id was already this job' },
            note: { type: 'string', description: 'in a submit\'s answer only: why admission cut the chunks (e.g. each chunk\'s primes must fit half a frame)' },
          },
          additionalProperties: true,
        },
        Result: { type: 'object', description: "the task's folded result: every integer a decimal string", additionalProperties: true },
        Error: { type: 'object', properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' }, field: { type: 'string' } }, required: ['code', 'message'] } } },
      },
    },
    security: [{ admin: [] }],
    paths: {
      '/api/tasks': { get: { summary: 'the tasks and their parameters', responses: { '200': { description: 'tasks', ...(json({ type: 'array', example: describeTasks().slice(0, 1) }) as object) } } } },
      '/api/jobs': {
        get: { summary: 'list jobs', responses: { '200': { description: 'jobs', ...(json({ type: 'object', properties: { jobs: { type: 'array', items: { $ref: '#/components/schemas/JobStatus' } } } }) as object) } } },
        post: {
          summary: 'submit a job (idempotent with an id: safe to retry through any head, docs/api.md)',
          requestBody: { required: true, ...(json({ $ref: '#/components/schemas/Submit' }) as object) },
          responses: {
            '201': { description: 'the new job (existing: false)', ...(json({ $ref: '#/components/schemas/JobStatus' }) as object) },
            '200': { description: 'the job already under this id, submitted with the same settings (existing: true), whatever its state', ...(json({ $ref: '#/components/schemas/JobStatus' }) as object) },
            '409': { description: 'ID_CONFLICT: the id is a job with other settings; `field` and the message name the first that differs', ...(json(error) as object) },
            ...errors,
          },
        },
      },
      '/api/jobs/{id}': { get: { summary: "a job's status", parameters: [jobId], responses: { '200': { description: 'status', ...(json({ $ref: '#/components/schemas/JobStatus' }) as object) }, ...errors } } },
      '/api/jobs/{id}/result': { get: { summary: "a job's folded result (so far)", parameters: [jobId], responses: { '200': { description: 'result', ...(json({ $ref: '#/components/schemas/Result' }) as object) }, ...errors } } },
      '/api/jobs/{id}/output': {
        get: {
          summary: "a finished job's full output, in chunk order (the task's media type: text/plain for primes --list, application/x-life-rle for life)",
          parameters: [jobId],
          responses: { '200': { description: 'the output, streamed', content: Object.fromEntries(publicTasks().flatMap((t) => (t.output ? [[t.output.mediaType, { schema: { type: 'string' } }]] : []))) }, '409': { description: 'no output kept, or the job has not finished', ...(json(error) as object) }, ...errors },
        },
      },
      '/api/jobs/{id}/cancel': { post: { summary: 'cancel a job; every lease returns', parameters: [jobId], responses: { '200': { description: 'status', ...(json({ $ref: '#/components/schemas/JobStatus' }) as object) }, ...errors } } },
      '/api/ha': {
        get: {
          summary: 'HA head candidates (only with --etcd; docs/ha.md): the leader, its epoch, every candidate (leader, standby or down), this one\'s fence counters, the election history; answered by any candidate',
          responses: { '200': { description: 'HA status', ...(json({ type: 'object', properties: { leader: { type: ['string', 'null'] }, epoch: { type: ['string', 'null'] }, candidates: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, url: { type: 'string' }, workerAddress: { type: 'string' }, state: { enum: ['leader', 'standby', 'down'] } } } }, self: { type: 'object', additionalProperties: true }, history: { type: 'array', items: { type: 'object', additionalProperties: true } } } }) as object) }, '404': { description: 'not an HA head' } },
        },
      },
      '/api/nodes': { get: { summary: 'worker nodes', responses: { '200': { description: 'nodes', ...(json({ type: 'object', properties: { nodes: { type: 'array', items: { type: 'object', additionalProperties: true } } } }) as object) } } } },
      '/api/nodes/{id}': { get: { summary: 'one node and its leases', parameters: [{ ...jobId, description: 'node id' }], responses: { '200': { description: 'node', ...(json({ type: 'object', additionalProperties: true }) as object) }, ...errors } } },
    },
  };
}
