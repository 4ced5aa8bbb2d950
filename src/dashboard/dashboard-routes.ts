import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ClusterReadModel } from '../ports/index.js';
import { bundledAsset } from './assets/bundle.js';
import { FAVICON_SVG } from './assets/favicon-svg.js';
import { pageHtml } from './assets/page-html.js';
import { ClusterViews } from './cluster-views.js';
import { prometheusMetrics } from './prometheus-metrics.js';
import { StreamHub } from './stream-hub.js';
import type { StreamHubOptions } from './stream-hub.js';

interface Asset {
  body: string;
  type: string;
  version: string;
}

function asset(body: string, type: string): Asset {
  return { body, type, version: createHash('sha256').update(body).digest('hex').slice(0, 12) };
}

/** The page may load only its own script, style and data: nothing inline, nothing from elsewhere. */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** The single-page app's paths: each serves the same page, which draws the view from the URL. */
export const DASHBOARD_PAGES = ['/', '/jobs', '/jobs/new', '/log', '/node/*', '/job/*'] as const;

export interface DashboardOptions {
  stream?: StreamHubOptions;
}

/**
 * The dashboard on the head's HTTP server: the page and its assets, the live stream
 * (`GET /api/stream`, server-sent events), a snapshot for the page's polling fallback and
 * `GET /metrics`. The API's own hook has already refused requests without the admin token; `auth`
 * is checked again here so these routes stay closed if they are ever mounted elsewhere.
 */
export function dashboardRoutes(app: FastifyInstance, head: ClusterReadModel, auth: (req: FastifyRequest) => boolean, options: DashboardOptions = {}): void {
  const views = new ClusterViews(head);
  const hub = new StreamHub(views, options.stream);
  const assets = new Map<string, Asset>([
    ['app.css', asset(bundledAsset('app.css'), 'text/css; charset=utf-8')],
    ['app.js', asset(bundledAsset('app.js'), 'text/javascript; charset=utf-8')],
    ['favicon.svg', asset(FAVICON_SVG, 'image/svg+xml')],
  ]);
  const version = (name: string): string => assets.get(name)?.version ?? '0';
  const html = pageHtml({ css: version('app.css'), js: version('app.js'), icon: version('favicon.svg') });

  const denied = (reply: FastifyReply): FastifyReply =>
    reply.code(401).send({ error: { code: 'UNAUTHORIZED', message: 'missing or wrong admin token (Authorization: Bearer ..., or log in with the URL the head printed)' } });

  const page = async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    if (!auth(req)) return denied(reply);
    return reply
      .header('content-security-policy', CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('x-frame-options', 'DENY')
      .header('cache-control', 'no-store')
      .type('text/html; charset=utf-8')
      .send(html);
  };
  for (const p of DASHBOARD_PAGES) app.get(p, page);

  app.get('/assets/:name', async (req: FastifyRequest<{ Params: { name: string } }>, reply: FastifyReply) => {
    if (!auth(req)) return denied(reply);
    const a = assets.get(req.params.name);
    if (!a) return reply.code(404).send({ error: { code: 'NOT_FOUND', message: `no asset ${req.params.name}` } });
    return reply
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', 'private, max-age=31536000, immutable')
      .header('etag', `"${a.version}"`)
      .type(a.type)
      .send(a.body);
  });

  app.get('/api/stream', async (req: FastifyRequest, reply: FastifyReply) => {
    if (!auth(req)) return denied(reply);
    if (hub.clientCount >= (options.stream?.maxClients ?? 64)) {
      return reply.code(503).send({ error: { code: 'BUSY', message: 'too many open dashboard streams' } });
    }
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
      'x-content-type-options': 'nosniff',
    });
    req.raw.socket.setNoDelay(true);
    if (!hub.add(res)) res.end();
    return reply;
  });

  app.get('/api/dashboard/snapshot', async (req: FastifyRequest, reply: FastifyReply) => {
    if (!auth(req)) return denied(reply);
    return reply.header('cache-control', 'no-store').send(views.snapshot());
  });

  app.get('/metrics', async (req: FastifyRequest, reply: FastifyReply) => {
    if (!auth(req)) return denied(reply);
    const text = prometheusMetrics(head, { clients: hub.clientCount, congested: hub.congestedCount, ...hub.stats });
    return reply.header('cache-control', 'no-store').type('text/plain; version=0.0.4; charset=utf-8').send(text);
  });

  app.addHook('preClose', async () => {
    hub.close();
  });
}
