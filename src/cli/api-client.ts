import { readFileSync, existsSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { BrambleError, InputError } from '../core/index.js';
import { FILES, readHeadState } from '../trust/index.js';

export class ApiError extends BrambleError {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    code: string,
    message: string,
  ) {
    super(code, message);
  }
}

export interface ApiClientOptions {
  url: string;
  token: string;
  /** PEM of the cluster CA the head's certificate must chain to. */
  ca: string | null;
}

/** Finds the head API: --head-url / BRAMBLE_HEAD_URL, token from --token / BRAMBLE_TOKEN / the data dir. */
export function resolveApi(flags: { headUrl?: string; token?: string; data: string }): ApiClientOptions {
  const dir = flags.data;
  let url = flags.headUrl ?? process.env['BRAMBLE_HEAD_URL'];
  url ??= readHeadState(dir)?.url;
  if (!url) throw new InputError('--head-url', `--head-url is needed (or BRAMBLE_HEAD_URL): no running head found in ${dir}`);
  if (!/^https?:\/\/[^/]+/.test(url)) throw new InputError('--head-url', `--head-url must look like https://HOST:7080 (got ${JSON.stringify(url)})`);
  let token = flags.token ?? process.env['BRAMBLE_TOKEN'];
  const tokenPath = path.join(dir, FILES.adminToken);
  if (!token && existsSync(tokenPath)) token = readFileSync(tokenPath, 'utf8').trim();
  if (!token) throw new InputError('--token', `the admin token is needed: BRAMBLE_TOKEN, or run on the head where ${tokenPath} exists`);
  const caPath = process.env['BRAMBLE_CA'] ?? path.join(dir, FILES.caCert);
  const ca = existsSync(caPath) ? readFileSync(caPath, 'utf8') : null;
  return { url: url.replace(/\/+$/, ''), token, ca };
}

export class ApiClient {
  constructor(private readonly o: ApiClientOptions) {}

  private request(method: string, route: string, body?: unknown, sink?: Writable): Promise<{ status: number; json: unknown }> {
    const u = new URL(this.o.url + route);
    const isHttps = u.protocol === 'https:';
    const raw = body instanceof Uint8Array;
    const payload = body === undefined ? undefined : raw ? Buffer.from(body) : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = (isHttps ? https : http).request(
        u,
        {
          method,
          headers: {
            authorization: `Bearer ${this.o.token}`,
            accept: 'application/json',
            ...(payload ? { 'content-type': raw ? 'application/octet-stream' : 'application/json', 'content-length': payload.length } : {}),
          },
          ...(isHttps ? { ca: this.o.ca ?? undefined } : {}),
          timeout: 30_000,
        },
        (res) => {
          const status = res.statusCode ?? 0;
          if (sink && status === 200) {
            res.pipe(sink);
            res.on('end', () => resolve({ status, json: null }));
            res.on('error', reject);
            return;
          }
          const parts: Buffer[] = [];
          res.on('data', (d: Buffer) => parts.push(d));
          res.on('end', () => {
            const text = Buffer.concat(parts).toString('utf8');
            let json: unknown;
            try {
              json = text ? JSON.parse(text) : null;
            } catch {
              json = { error: { code: 'BAD_RESPONSE', message: text.slice(0, 200) } };
            }
            if (status >= 400) {
              const e = (json as { error?: { code?: string; message?: string } } | null)?.error;
              reject(new ApiError(status, e?.code ?? 'HTTP', e?.message ?? `HTTP ${status}`));
            } else resolve({ status, json });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('the head did not answer within 30 s')));
      req.on('error', (err) => reject(new BrambleError('CONNECTION', `cannot reach the head at ${this.o.url}: ${err.message}`, { cause: err })));
      if (payload) req.write(payload);
      req.end();
    });
  }

  async get<T>(route: string): Promise<T> {
    return (await this.request('GET', route)).json as T;
  }
  async post<T>(route: string, body: unknown = {}): Promise<T> {
    return (await this.request('POST', route, body)).json as T;
  }
  /** PUT of raw bytes (application/octet-stream). */
  async putBytes<T>(route: string, bytes: Uint8Array): Promise<T> {
    return (await this.request('PUT', route, bytes)).json as T;
  }
  async download(route: string, sink: Writable): Promise<void> {
    await this.request('GET', route, undefined, sink);
  }
}
