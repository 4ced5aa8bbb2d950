import { randomBytes, timingSafeEqual } from 'node:crypto';
import { PassThrough } from 'node:stream';
import Fastify from 'fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type net from 'node:net';
import { BrambleError, ConflictError, InputError, NotFoundError, RepeatLimiter } from '../core/index.js';
import { describeTasks, getTask, publicTasks } from '../tasks/index.js';
import type { Head } from './head.js';
import { codeRoutes } from './code-routes.js';
import { openApiDocument } from './openapi.js';

export interface HttpApiOptions {
  head: Head;
  host: string;
  port: number;
  /** HTTPS material (the head certificate); null only with --insecure. */
  tls: { certChainPem: string; keyPem: string } | null;
  adminToken: string;
  loginCodes: LoginCodes;
  insecure: boolean;
  bodyLimit?: number;
  /** Connection caps and timeouts (defaults in HTTP_LIMITS). */
  limits?: Partial<HttpLimits>;
  /** Extra routes (the dashboard). */
  extend?: (app: FastifyInstance, auth: (req: FastifyRequest) => boolean) => void | Promise<void>;
}

export interface HttpLimits {
  /** Connections held at once; more are closed at accept. */
  maxConnections: number;
  /** Connections held at once from one source address. */
  maxPerAddress: number;
  /** TLS handshake must finish within this. */
  handshakeTimeoutMs: number;
  /** A request's headers must arrive within this (checked every second). */
  headersTimeoutMs: number;
  /** A whole request (headers and body) must arrive within this. */
  requestTimeoutMs: number;
  /** A kept-alive connection with no request is closed after this. */
  keepAliveTimeoutMs: number;
  /** A socket with no traffic either way is closed after this (SSE pings every 15 s). */
  idleTimeoutMs: number;
}

export const HTTP_LIMITS: HttpLimits = {
  maxConnections: 256,
  maxPerAddress: 32,
  handshakeTimeoutMs: 5000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 60_000,
  keepAliveTimeoutMs: 5000,
  idleTimeoutMs: 60_000,
};

const COOKIE = 'bramble_session';

/** The admin token as a bearer header or the dashboard's session cookie (also used by HA standbys, head/ha.ts). */
export function isAdmin(req: { headers: { authorization?: string; cookie?: string } }, adminToken: string): boolean {
  const h = req.headers.authorization;
  if (h?.startsWith('Bearer ') && sameToken(h.slice(7).trim(), adminToken)) return true;
  const c = cookieToken(req);
  return c !== null && sameToken(c, adminToken);
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookieToken(req: { headers: { cookie?: string } }): string | null {
  const raw = req.headers.cookie;
  if (!raw) return null;
  for (const part of raw.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k !== COOKIE) continue;
    // a malformed value (a lone '%') is no token: 401, not a URIError and a stack trace
    try {
      return decodeURIComponent(v.join('='));
    } catch {
      return null;
    }
  }
  return null;
}

/**
 * One-time login codes: the URL `bramble head` prints (and `bramble login-url` mints) logs one browser
 * in, once; the admin token itself never appears in a URL.
 */
export class LoginCodes {
  private readonly codes = new Set<string>();
  mint(): string {
    if (this.codes.size >= 100) this.codes.delete(this.codes.values().next().value as string);
    const code = randomBytes(18).toString('base64url');
    this.codes.add(code);
    return code;
  }
  /** True once per code. */
  redeem(code: string): boolean {
    return code.length > 0 && this.codes.delete(code);
  }
}

/** Failed logins per address: at most `limit` a minute. */
class LoginLimiter {
  private readonly fails = new Map<string, number[]>();
  constructor(private readonly limit = 10) {}
  blocked(ip: string): boolean {
    const now = Date.now();
    const list = (this.fails.get(ip) ?? []).filter((t) => now - t < 60_000);
    this.fails.set(ip, list);
    return list.length >= this.limit;
  }
  fail(ip: string): void {
    const list = this.fails.get(ip) ?? [];
    list.push(Date.now());
    this.fails.set(ip, list);
    if (this.fails.size > 10_000) this.fails.clear();
  }
}

function httpStatus(err: unknown): number {
  if (err instanceof InputError) return 400;
  if (err instanceof NotFoundError) return 404;
  if (err instanceof ConflictError) return 409;
  return 500;
}

/** The head's HTTP API: jobs, nodes, results; every route but /login and /api/health needs the admin token. */
export async function startHttpApi(o: HttpApiOptions): Promise<FastifyInstance> {
  const lim: HttpLimits = { ...HTTP_LIMITS, ...o.limits };
  const app = Fastify({
    logger: false,
    bodyLimit: o.bodyLimit ?? 8 * 1024 * 1024,
    connectionTimeout: lim.idleTimeoutMs,
    keepAliveTimeout: lim.keepAliveTimeoutMs,
    requestTimeout: lim.requestTimeoutMs,
    // connectionsCheckingInterval: how often Node checks the header and request timeouts (default 30 s)
    ...(o.tls
      ? { https: { cert: o.tls.certChainPem, key: o.tls.keyPem, minVersion: 'TLSv1.3' as const, handshakeTimeout: lim.handshakeTimeoutMs, connectionsCheckingInterval: 1000 } as import('node:https').ServerOptions }
      : { http: { connectionsCheckingInterval: 1000 } }),
  }) as unknown as FastifyInstance;
  const head = o.head;
  const limiter = new LoginLimiter();
  const logLimit = new RepeatLimiter({ burst: 5, windowMs: 60_000 });
  const logError = (err: unknown, key: string): void => {
    const suppressed = logLimit.allow(key);
    if (suppressed === null) return;
    head.log.error({ err, ...(suppressed ? { suppressed } : {}) }, suppressed ? `api error (${suppressed} like it suppressed)` : 'api error');
  };
  // connection caps, counted at the TCP accept (before TLS): in total and per source address
  const server = app.server as unknown as net.Server & { headersTimeout: number };
  server.maxConnections = lim.maxConnections;
  server.headersTimeout = lim.headersTimeoutMs;
  const perAddress = new Map<string, number>();
  const httpStats = { open: 0, refusedPerAddress: 0 };
  server.on('connection', (socket: net.Socket) => {
    const addr = socket.remoteAddress ?? '?';
    const n = perAddress.get(addr) ?? 0;
    if (n >= lim.maxPerAddress) {
      httpStats.refusedPerAddress++;
      socket.destroy();
      return;
    }
    perAddress.set(addr, n + 1);
    httpStats.open++;
    socket.once('close', () => {
      httpStats.open--;
      const m = (perAddress.get(addr) ?? 1) - 1;
      if (m <= 0) perAddress.delete(addr);
      else perAddress.set(addr, m);
    });
  });

  const authorised = (req: FastifyRequest): boolean => isAdmin(req, o.adminToken);

  app.setErrorHandler((err: unknown, _req, reply) => {
    const e = err as { statusCode?: number; code?: string; message?: string; validation?: unknown };
    if (err instanceof BrambleError) {
      const status = httpStatus(err);
      if (status === 500) logError(err, `${err.code}`);
      return reply.code(status).send({ error: { code: err.code, message: err.message, ...(err instanceof InputError ? { field: err.field } : {}) } });
    }
    const status = e.statusCode && e.statusCode >= 400 && e.statusCode < 500 ? e.statusCode : 500;
    if (status === 500) logError(err, `${e.code ?? ''}:${e.message ?? ''}`.slice(0, 200));
    return reply.code(status).send({ error: { code: e.code ?? 'ERROR', message: status === 500 ? 'internal error' : (e.message ?? 'bad request') } });
  });
  app.setNotFoundHandler((req, reply) => {
    if (!authorised(req)) return reply.code(401).send({ error: { code: 'UNAUTHORIZED', message: 'missing or wrong admin token' } });
    return reply.code(404).send({ error: { code: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` } });
  });

  app.addHook('onRequest', async (req, reply) => {
    const url = req.url.split('?')[0] ?? '';
    if (url === '/api/health' || url === '/login') return;
    if (!authorised(req)) {
      const page = url === '/' || url === '/jobs' || url === '/jobs/new' || url === '/log' || url.startsWith('/job/') || url.startsWith('/node/');
      if (req.method === 'GET' && page && (req.headers.accept ?? '').includes('text/html')) {
        return reply.code(401).type('text/html').send('<!doctype html><title>bramble</title><p>Log in with the dashboard URL that <code>bramble head</code> printed when it started (it works once), or get a new one with <code>bramble login-url</code> on the head.</p>');
      }
      return reply.code(401).send({ error: { code: 'UNAUTHORIZED', message: 'missing or wrong admin token (Authorization: Bearer ..., or log in with the URL the head printed)' } });
    }
  });

  app.get('/api/health', async () => ({ ok: true, head: head.headId, insecure: o.insecure }));

  app.get('/login', async (req: FastifyRequest<{ Querystring: { token?: string; code?: string } }>, reply: FastifyReply) => {
    const ip = req.ip;
    if (limiter.blocked(ip)) return reply.code(429).send({ error: { code: 'RATE_LIMITED', message: 'too many failed logins; wait a minute' } });
    // a one-time code from the printed URL, or the admin token itself (scripts)
    const code = typeof req.query.code === 'string' ? req.query.code : '';
    const token = typeof req.query.token === 'string' ? req.query.token : '';
    if (!o.loginCodes.redeem(code) && !sameToken(token, o.adminToken)) {
      limiter.fail(ip);
      head.event('warn', 'auth', `failed dashboard login from ${ip}`);
      return reply.code(401).send({ error: { code: 'UNAUTHORIZED', message: 'wrong login token' } });
    }
    const secure = o.tls ? '; Secure' : '';
    reply.header('set-cookie', `${COOKIE}=${encodeURIComponent(o.adminToken)}; HttpOnly; SameSite=Strict; Path=/; Max-Age=2592000${secure}`);
    return reply.redirect('/', 303);
  });

  /** A fresh one-time login URL (for `bramble login-url`). */
  app.post('/api/login-codes', async () => ({ path: `/login?code=${o.loginCodes.mint()}` }));

  app.get('/api/tasks', async () => describeTasks());
  app.get('/api/openapi.json', async () => openApiDocument());

  codeRoutes(app, head);
  app.get('/api/jobs', async () => ({ jobs: head.jobs() }));

  app.post('/api/jobs', async (req: FastifyRequest, reply: FastifyReply) => {
    const body = req.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InputError('body', 'the request body must be a JSON object');
    const b = body as Record<string, unknown>;
    const allowed = ['task', 'start', 'end', 'chunk', 'chunkTime', 'priority', 'maxAttempts', 'params', 'id'];
    for (const k of Object.keys(b)) if (!allowed.includes(k)) throw new InputError(k, `unknown field ${JSON.stringify(k)} (allowed: ${allowed.join(', ')})`);
    if (typeof b['task'] !== 'string') throw new InputError('task', `task must be a string (${publicTasks().map((t) => t.name).join(', ')})`);
    const scalar = (k: string): string | number | undefined => {
      const v = b[k];
      if (v === undefined || v === null) return undefined;
      if (typeof v === 'string' || typeof v === 'number') return v;
      throw new InputError(k, `${k} must be a number or a decimal string`);
    };
    const params = b['params'];
    if (params !== undefined && (typeof params !== 'object' || params === null || Array.isArray(params))) throw new InputError('params', 'params must be an object');
    if (b['id'] !== undefined && typeof b['id'] !== 'string') throw new InputError('id', 'id must be a string');
    const job = head.submit(
      { task: b['task'], start: scalar('start'), end: scalar('end'), chunk: scalar('chunk'), chunkTime: scalar('chunkTime'), priority: scalar('priority'), maxAttempts: scalar('maxAttempts'), params: params as Record<string, unknown> | undefined },
      b['id'] as string | undefined,
    );
    return reply.code(201).send(head.status(job.id));
  });

  app.get('/api/jobs/:id', async (req: FastifyRequest<{ Params: { id: string } }>) => head.status(req.params.id));
  app.get('/api/jobs/:id/result', async (req: FastifyRequest<{ Params: { id: string } }>) => head.result(req.params.id));
  // the live view of a running distributed Life job (dashboard/client/life-view.ts)
  app.get('/api/jobs/:id/life', async (req: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) => {
    const frame = head.lifeFrame(req.params.id);
    return frame ?? reply.code(404).send({ error: { code: 'NOT_FOUND', message: `job ${req.params.id} is not a running Life job` } });
  });
  app.get('/api/jobs/:id/chunks', async (req: FastifyRequest<{ Params: { id: string }; Querystring: { cells?: string } }>) =>
    head.chunkMap(req.params.id, Math.min(20_000, Math.max(1, Number(req.query.cells ?? 4096) || 4096))),
  );
  app.post('/api/jobs/:id/cancel', async (req: FastifyRequest<{ Params: { id: string } }>) => {
    head.cancel(req.params.id);
    return head.status(req.params.id);
  });
  app.get('/api/jobs/:id/output', async (req: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) => {
    const job = head.getJob(req.params.id);
    head.checkOutput(job.id); // errors (no output kept, not finished) surface as 409 before any byte
    const task = getTask(job.task);
    const body = new PassThrough();
    head.writeOutput(job.id, body).then(
      () => body.end(),
      (err: unknown) => body.destroy(err as Error),
    );
    const format = task.output ?? { mediaType: 'text/plain', extension: 'txt' }; // checkOutput: it has one
    reply.header('content-disposition', `attachment; filename="${job.id}-${task.name}.${format.extension}"`);
    return reply.type(`${format.mediaType}; charset=utf-8`).send(body);
  });

  app.get('/api/nodes', async () => ({
    nodes: head.nodeList().map((n) => ({
      id: n.id,
      name: n.name,
      instance: n.instance,
      hostname: n.hostname,
      addresses: n.addresses,
      remote: n.remote,
      state: n.state,
      connected: n.connected,
      legacy: n.legacy,
      slots: n.slots,
      busy: n.busy,
      hot: n.hot,
      version: n.version,
      joinedAt: n.joinedAt,
      lastSeen: n.lastSeen,
      telemetry: n.telemetry,
    })),
  }));
  app.get('/api/nodes/:id', async (req: FastifyRequest<{ Params: { id: string } }>) => {
    const n = head.nodes.get(req.params.id);
    if (!n) throw new NotFoundError(`no node ${req.params.id}`);
    return { ...n, leases: head.nodeLeases(n.id).map((l) => ({ job: l.jobId, index: l.index, attempt: l.attempt, since: l.issuedAt, backup: l.backup })) };
  });
  app.get('/api/events', async () => ({ events: head.events.slice(-500) }));
  app.get('/api/stats', async () => {
    const m = process.memoryUsage();
    return {
      ledger: head.ledger.stats,
      leases: head.ledger.leaseCount,
      counters: head.counters,
      server: head.serverStats,
      http: { ...httpStats, limits: lim, logLinesSuppressed: logLimit.suppressedTotal },
      pendingConnections: head.pendingConnections,
      workers: head.connectedWorkers(),
      wantToAssignMs: head.latencyPercentiles(),
      // users' code: pieces stored, and sent to workers (a second job with cached code adds nothing)
      code: head.code?.stats ?? null,
      memory: { rss: m.rss, heapUsed: m.heapUsed },
      cpu: process.cpuUsage(),
      uptime: process.uptime(),
    };
  });

  if (o.extend) await o.extend(app, authorised);
  await app.listen({ host: o.host, port: o.port });
  return app;
}
