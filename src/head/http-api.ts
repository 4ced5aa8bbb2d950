import { timingSafeEqual } from 'node:crypto';
import { PassThrough } from 'node:stream';
import Fastify from 'fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type net from 'node:net';
import { BrambleError, ConflictError, IdConflictError, InputError, NotFoundError, RepeatLimiter } from '../core/index.js';
import { describeTasks, getTask, publicTasks } from '../tasks/index.js';
import type { Head } from './head.js';
import { codeRoutes } from './code-routes.js';
import { openApiDocument } from './openapi.js';
import { FramedConnection } from '../net/index.js';

/** The `Upgrade:` token of the exec channel (`GET /api/exec/connect`). */
export const EXEC_UPGRADE = 'bramble-exec';
import { DashboardSessions, LoginCodes } from './login-sessions.js';

export { DashboardSessions, LoginCodes } from './login-sessions.js';

export interface HttpApiOptions {
  head: Head;
  host: string;
  port: number;
  /** HTTPS material (the head certificate); null only with --insecure. */
  tls: { certChainPem: string; keyPem: string } | null;
  adminToken: string;
  loginCodes: LoginCodes;
  /** Dashboard sessions (default: a fresh set; the root passes one to share with nothing else). */
  sessions?: DashboardSessions;
  insecure: boolean;
  bodyLimit?: number;
  /** Connection caps and timeouts (defaults in HTTP_LIMITS). */
  limits?: Partial<HttpLimits>;
  /** Extra routes (the dashboard). */
  extend?: (app: FastifyInstance, auth: (req: FastifyRequest) => boolean) => void | Promise<void>;
  /** Called after a submit is journaled, before it is answered (the root's test-only fault hook). */
  afterSubmit?: (id: string, existing: boolean) => void;
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

/** The session cookie: `__Host-` over HTTPS (Secure, Path=/, no Domain: this host and port's only). */
const COOKIE_TLS = '__Host-bramble_session';
const COOKIE_PLAIN = 'bramble_session';

/**
 * The admin token as a bearer header (also used by HA standbys, head/ha.ts). Dashboard session cookies
 * are random ids that only the head that issued them knows (issue 17, item 11): never the token.
 */
export function isAdmin(req: { headers: { authorization?: string } }, adminToken: string): boolean {
  const h = req.headers.authorization;
  return h?.startsWith('Bearer ') === true && sameToken(h.slice(7).trim(), adminToken);
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookieValue(req: { headers: { cookie?: string } }, name: string): string | null {
  const raw = req.headers.cookie;
  if (!raw) return null;
  for (const part of raw.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k !== name) continue;
    // a malformed value (a lone '%') is no token: 401, not a URIError and a stack trace
    try {
      return decodeURIComponent(v.join('='));
    } catch {
      return null;
    }
  }
  return null;
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

/** Jobs per page of `GET /api/jobs` by default, and at most. */
export const JOBS_PAGE = 100;
export const JOBS_PAGE_MAX = 1000;
/** Parameters longer than this are left out of job lists. */
export const LIST_PARAM_MAX = 256;

function briefParams(params: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) out[k] = typeof v === 'string' && v.length > LIST_PARAM_MAX ? `(${v.length} characters; GET /api/jobs/ID has it)` : v;
  return out;
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
  let crossSiteRefused = 0;
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

  const sessions = o.sessions ?? new DashboardSessions();
  const cookieName = o.tls ? COOKIE_TLS : COOKIE_PLAIN;
  const bearer = (req: FastifyRequest): boolean => isAdmin(req, o.adminToken);
  const session = (req: FastifyRequest): string | null => {
    const c = cookieValue(req, cookieName);
    return c !== null && sessions.check(c) ? c : null;
  };
  const authorised = (req: FastifyRequest): boolean => bearer(req) || session(req) !== null;
  /**
   * A write authorised by the cookie alone must come from the dashboard's own origin (issue 17, item
   * 13): the browser's Sec-Fetch-Site says so, or else its Origin names this host; a request with
   * neither is refused (every browser that sends cookies sends one of them on a POST).
   */
  const sameOrigin = (req: FastifyRequest): boolean => {
    const site = req.headers['sec-fetch-site'];
    if (typeof site === 'string') return site === 'same-origin' || site === 'none';
    const origin = req.headers.origin;
    if (typeof origin !== 'string') return false;
    return origin === `${o.tls ? 'https' : 'http'}://${req.headers.host ?? ''}`;
  };
  const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

  app.setErrorHandler((err: unknown, _req, reply) => {
    const e = err as { statusCode?: number; code?: string; message?: string; validation?: unknown };
    if (err instanceof BrambleError) {
      const status = httpStatus(err);
      if (status === 500) logError(err, `${err.code}`);
      return reply.code(status).send({ error: { code: err.code, message: err.message, ...(err instanceof InputError || err instanceof IdConflictError ? { field: err.field } : {}) } });
    }
    const status = e.statusCode && e.statusCode >= 400 && e.statusCode < 500 ? e.statusCode : 500;
    if (status === 500) logError(err, `${e.code ?? ''}:${e.message ?? ''}`.slice(0, 200));
    return reply.code(status).send({ error: { code: e.code ?? 'ERROR', message: status === 500 ? 'internal error' : (e.message ?? 'bad request') } });
  });
  app.setNotFoundHandler((req, reply) => {
    if (!authorised(req)) return reply.code(401).send({ error: { code: 'UNAUTHORIZED', message: 'missing or wrong admin token' } });
    return reply.code(404).send({ error: { code: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` } });
  });

  // once closing, every answer closes its connection: a client that finished its TLS handshake just after
  // close() (the server does not see a connection before then) would otherwise keep it, and the close
  // that waits for it, alive for as long as it polls
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (req, reply) => {
    if (closing) reply.header('connection', 'close');
    const url = req.url.split('?')[0] ?? '';
    if (url === '/api/health' || url === '/login') return;
    if (!authorised(req)) {
      const page = url === '/' || url === '/jobs' || url === '/jobs/new' || url === '/log' || url.startsWith('/job/') || url.startsWith('/node/');
      if (req.method === 'GET' && page && (req.headers.accept ?? '').includes('text/html')) {
        return reply.code(401).type('text/html').send('<!doctype html><title>bramble</title><p>Log in with the dashboard URL that <code>bramble head</code> printed when it started (it works once), or get a new one with <code>bramble login-url</code> on the head.</p>');
      }
      return reply.code(401).send({ error: { code: 'UNAUTHORIZED', message: 'missing or wrong admin token (Authorization: Bearer ..., or log in with the URL the head printed)' } });
    }
    if (!SAFE.has(req.method) && !bearer(req) && !sameOrigin(req)) {
      crossSiteRefused++;
      return reply.code(403).send({ error: { code: 'CROSS_SITE', message: 'a write with the session cookie must come from the dashboard itself (Origin or Sec-Fetch-Site of another site); scripts use Authorization: Bearer' } });
    }
  });

  app.get('/api/health', async () => ({ ok: true, head: head.headId, insecure: o.insecure }));

  app.get('/login', async (req: FastifyRequest<{ Querystring: { code?: string } }>, reply: FastifyReply) => {
    const ip = req.ip;
    if (limiter.blocked(ip)) return reply.code(429).send({ error: { code: 'RATE_LIMITED', message: 'too many failed logins; wait a minute' } });
    // a one-time code from the printed URL (10 minutes); the admin token never goes into a URL
    const code = typeof req.query.code === 'string' ? req.query.code : '';
    if (!o.loginCodes.redeem(code)) {
      limiter.fail(ip);
      head.event('warn', 'auth', `failed dashboard login from ${ip}`);
      return reply.code(401).send({ error: { code: 'UNAUTHORIZED', message: 'unknown, used or expired login code (codes work once, within 10 minutes: bramble login-url mints another)' } });
    }
    const secure = o.tls ? '; Secure' : '';
    const id = sessions.open();
    reply.header('set-cookie', `${cookieName}=${id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${Math.floor(sessions.ttlMs / 1000)}${secure}`);
    return reply.redirect('/', 303);
  });

  /** Ends this browser's session. */
  app.post('/api/logout', async (req: FastifyRequest, reply: FastifyReply) => {
    const id = session(req);
    if (id) sessions.close(id);
    reply.header('set-cookie', `${cookieName}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0${o.tls ? '; Secure' : ''}`);
    return { ok: true };
  });
  /** Ends every dashboard session (`bramble logout-all`). */
  app.post('/api/sessions/revoke', async () => ({ revoked: sessions.revokeAll() }));

  /** A fresh one-time login URL (for `bramble login-url`). */
  app.post('/api/login-codes', async () => ({ path: `/login?code=${o.loginCodes.mint()}` }));

  app.get('/api/tasks', async () => describeTasks());
  app.get('/api/openapi.json', async () => openApiDocument());

  codeRoutes(app, head);
  /**
   * Jobs, a page at a time (issue 17, item 8): the `limit` most recent (default 100, at most 1,000) before
   * the job whose `seq` is `before`, oldest first; parameters longer than 256 characters (a Life
   * pattern) are left out (`GET /api/jobs/ID` has them). `next` is the `before` of the next page.
   */
  app.get('/api/jobs', async (req: FastifyRequest<{ Querystring: { limit?: string; before?: string } }>) => {
    const limit = req.query.limit === undefined ? JOBS_PAGE : Number(req.query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > JOBS_PAGE_MAX) throw new InputError('limit', `limit must be an integer from 1 to ${JOBS_PAGE_MAX} (got ${JSON.stringify(req.query.limit)})`);
    const before = req.query.before === undefined ? Infinity : Number(req.query.before);
    if (!(before === Infinity || Number.isInteger(before))) throw new InputError('before', `before must be a job's seq (got ${JSON.stringify(req.query.before)})`);
    const all = head.listJobs().filter((j) => j.seq < before).sort((a, b) => a.seq - b.seq);
    const page = all.slice(Math.max(0, all.length - limit));
    const first = page[0];
    return {
      jobs: page.map((j) => ({ ...head.status(j.id), seq: j.seq, params: briefParams(j.params) })),
      total: all.length,
      next: first !== undefined && all.length > page.length ? first.seq : null,
    };
  });

  app.post('/api/jobs', async (req: FastifyRequest, reply: FastifyReply) => {
    const body = req.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InputError('body', 'the request body must be a JSON object');
    const b = body as Record<string, unknown>;
    const allowed = ['task', 'start', 'end', 'chunk', 'chunkTime', 'priority', 'maxAttempts', 'replicas', 'verify', 'params', 'id'];
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
    const { job, existing, note } = head.submitOnce(
      { task: b['task'], start: scalar('start'), end: scalar('end'), chunk: scalar('chunk'), chunkTime: scalar('chunkTime'), priority: scalar('priority'), maxAttempts: scalar('maxAttempts'), replicas: scalar('replicas'), verify: scalar('verify'), params: params as Record<string, unknown> | undefined },
      b['id'] as string | undefined,
    );
    o.afterSubmit?.(job.id, existing); // test-only fault hook (startHeadProcess): may end the process here
    // idempotent submit (docs/api.md): the same id and settings again answer the job already there
    return reply.code(existing ? 200 : 201).send({ ...head.status(job.id), existing, ...(note ? { note } : {}) });
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
      allowExec: n.allowExec ?? false,
      slots: n.slots,
      busy: n.busy,
      hot: n.hot,
      version: n.version,
      joinedAt: n.joinedAt,
      lastSeen: n.lastSeen,
      telemetry: n.telemetry,
      suspect: n.suspect,
      strikes: n.strikes,
      barred: n.barred,
    })),
  }));
  /** `bramble node clear NAME`: forgets a node's strikes (issue 17, item 17). */
  app.post('/api/nodes/:id/clear', async (req: FastifyRequest<{ Params: { id: string } }>) => ({ cleared: head.clearNode(req.params.id) }));
  app.get('/api/nodes/:id', async (req: FastifyRequest<{ Params: { id: string } }>) => {
    const n = head.nodes.get(req.params.id);
    if (!n) throw new NotFoundError(`no node ${req.params.id}`);
    return { ...n, leases: head.nodeLeases(n.id).map((l) => ({ job: l.jobId, index: l.index, attempt: l.attempt, since: l.issuedAt, backup: l.backup })) };
  });
  app.get('/api/events', async () => ({ events: head.events.slice(-500) }));

  // ---- remote commands: runs, and the exec channel (an HTTP upgrade to framed MessagePack) ----
  app.get('/api/exec', async () => ({ runs: head.exec.list() }));
  server.on('upgrade', (req: import('node:http').IncomingMessage, socket: net.Socket, rest: Buffer) => {
    const refuse = (status: string, message: string): void => {
      socket.end(`HTTP/1.1 ${status}\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n${message}\n`);
    };
    if ((req.url ?? '').split('?')[0] !== '/api/exec/connect' || (req.headers.upgrade ?? '').toLowerCase() !== EXEC_UPGRADE) return refuse('404 Not Found', 'no such upgrade');
    const h = req.headers.authorization;
    if (!h?.startsWith('Bearer ') || !sameToken(h.slice(7).trim(), o.adminToken)) {
      head.event('warn', 'auth', `refused an exec connection from ${socket.remoteAddress ?? '?'}: wrong admin token`);
      return refuse('401 Unauthorized', 'missing or wrong admin token');
    }
    socket.setTimeout(0);
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nupgrade: ${EXEC_UPGRADE}\r\nconnection: Upgrade\r\n\r\n`);
    const conn = new FramedConnection(socket);
    if (rest.length > 0) socket.unshift(rest);
    head.exec.attach(conn);
  });
  app.get('/api/stats', async () => {
    const m = process.memoryUsage();
    return {
      ledger: head.ledger.stats,
      leases: head.ledger.leaseCount,
      counters: head.counters,
      server: head.serverStats,
      http: { ...httpStats, crossSiteRefused, sessions: sessions.size, loginCodes: o.loginCodes.size, limits: lim, logLinesSuppressed: logLimit.suppressedTotal },
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
