import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { InputError, NotFoundError } from '../core/index.js';
import { MAX_CODE_BYTES, describeTask } from '../tasks/index.js';
import type { Head } from './head.js';

/**
 * Users' code over HTTP (issue 12); admin only, like every API route.
 * - `PUT /api/code` (application/octet-stream): stores bytes by SHA-256; `?module=NAME` also loads them
 *   as a task module (its parameters are then validated at submit) and answers its task name.
 * - `GET /api/code/HASH`: the stored bytes, with the code key's signature in `x-bramble-signature`.
 */
export function codeRoutes(app: FastifyInstance, head: Head): void {
  const store = (): NonNullable<Head['code']> => {
    if (!head.code) throw new NotFoundError('this head keeps no code store');
    return head.code;
  };
  // a little over the limit, so a bundle just over it is refused with its size rather than a bare 413
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: MAX_CODE_BYTES + 1024 * 1024 }, (_req, body, done) => done(null, body));
  app.put('/api/code', { bodyLimit: MAX_CODE_BYTES + 1024 * 1024 }, async (req: FastifyRequest<{ Querystring: { module?: string } }>, reply: FastifyReply) => {
    const body = req.body;
    if (!Buffer.isBuffer(body)) throw new InputError('body', 'the body must be the code itself (content-type: application/octet-stream)');
    const name = req.query.module;
    if (name !== undefined) {
      const task = await store().putModule(body, String(name).slice(0, 200));
      return reply.code(201).send({ hash: task.name.slice('module:'.length), bytes: body.length, task: task.name, description: describeTask(task) });
    }
    return reply.code(201).send({ hash: store().put(body), bytes: body.length });
  });
  app.get('/api/code/:hash', async (req: FastifyRequest<{ Params: { hash: string } }>, reply: FastifyReply) => {
    const code = store().get(req.params.hash);
    if (!code) throw new NotFoundError(`no code ${req.params.hash}`);
    reply.header('x-bramble-signature', code.signature);
    return reply.type('application/octet-stream').send(Buffer.from(code.bytes));
  });
}
