import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Head } from '../head/index.js';

/** The dashboard's routes on the head's HTTP server (see dashboard issue). */
export function dashboardRoutes(app: FastifyInstance, head: Head, _auth: (req: FastifyRequest) => boolean): void {
  app.get('/', async (_req, reply) => reply.type('text/html').send(`<!doctype html><meta charset="utf-8"><title>bramble</title><h1>bramble head ${head.headId}</h1><p>API: <a href="/api/jobs">/api/jobs</a>, <a href="/api/nodes">/api/nodes</a></p>`));
}
