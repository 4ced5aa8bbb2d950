import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { NotFoundError } from '../core/index.js';
import type { Compat } from './compat.js';

/**
 * The compat routes on the head's HTTP API (behind the admin token like every other route):
 * - `GET /api/compat`: listeners, allowed networks, counters
 * - `GET /api/compat/primes`: the legacy prime stream `{"count", "max", "reporters", ...}` (decimal strings)
 * - `GET /api/compat/primes.txt`: every unique prime received, ascending, one per line (seed 004's
 *   `unique_primes.txt`), streamed from disk
 *
 * `compat` may be a getter: the routes are added before the HTTP server listens, the listeners later.
 */
export function compatRoutes(app: FastifyInstance, compat: Compat | (() => Compat | null)): void {
  const get = (): Compat | null => (typeof compat === 'function' ? compat() : compat);
  const notReady = (reply: FastifyReply): FastifyReply => reply.code(503).send({ error: { code: 'NOT_READY', message: 'the seed-compat listeners are starting' } });
  const store = (c: Compat): NonNullable<Compat['primes']> => {
    if (!c.primes) throw new NotFoundError('the seed 004 prime listener is off (start the head with --compat-primes PORT)');
    return c.primes;
  };

  app.get('/api/compat', async (_req, reply: FastifyReply) => {
    const c = get();
    return c ? c.status() : notReady(reply);
  });

  app.get('/api/compat/primes', async (_req, reply: FastifyReply) => {
    const c = get();
    if (!c) return notReady(reply);
    const snap = store(c).snapshot();
    return { count: snap.count, max: snap.max, reporters: snap.reporters, reportersTotal: snap.reportersTotal, received: snap.received, duplicates: snap.duplicates, rejected: snap.rejected };
  });

  app.get('/api/compat/primes.txt', async (_req, reply: FastifyReply) => {
    const c = get();
    if (!c) return notReady(reply);
    const s = store(c);
    reply.header('content-disposition', 'attachment; filename="unique_primes.txt"');
    return reply.type('text/plain; charset=utf-8').send(Readable.from(s.text(), { objectMode: false }));
  });
}
