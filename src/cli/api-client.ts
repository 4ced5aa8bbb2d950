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
  /** Every head given (`--head-url` repeated or comma-separated, BRAMBLE_HEAD_URL likewise); `url` is the first. */
  urls?: string[];
  /** How long a request may wait for an answer (default 30 s). */
  timeoutMs?: number;
}

/** Head URLs from `--head-url` values or BRAMBLE_HEAD_URL: each may list several, comma-separated. */
export function headUrls(given: string | string[] | undefined): string[] {
  const list = (Array.isArray(given) ? given : given === undefined ? [] : [given]).flatMap((u) => u.split(','));
  return list.map((u) => u.trim().replace(/\/+$/, '')).filter((u) => u !== '');
}

/**
 * Finds the head API: --head-url / BRAMBLE_HEAD_URL (several heads: repeat the flag or separate them
 * with commas), else the data dir's head.json; token from --token / BRAMBLE_TOKEN / the data dir.
 */
export function resolveApi(flags: { headUrl?: string | string[]; token?: string; data: string }): ApiClientOptions & { urls: string[] } {
  const dir = flags.data;
  let urls = headUrls(flags.headUrl);
  if (urls.length === 0) urls = headUrls(process.env['BRAMBLE_HEAD_URL']);
  if (urls.length === 0) urls = headUrls(readHeadState(dir)?.url);
  const url = urls[0];
  if (!url) throw new InputError('--head-url', `--head-url is needed (or BRAMBLE_HEAD_URL): no running head found in ${dir}`);
  for (const u of urls) if (!/^https?:\/\/[^/]+/.test(u)) throw new InputError('--head-url', `--head-url must look like https://HOST:7080 (got ${JSON.stringify(u)})`);
  let token = flags.token ?? process.env['BRAMBLE_TOKEN'];
  const tokenPath = path.join(dir, FILES.adminToken);
  if (!token && existsSync(tokenPath)) token = readFileSync(tokenPath, 'utf8').trim();
  if (!token) throw new InputError('--token', `the admin token is needed: BRAMBLE_TOKEN, or run on the head where ${tokenPath} exists`);
  const caPath = process.env['BRAMBLE_CA'] ?? path.join(dir, FILES.caCert);
  const ca = existsSync(caPath) ? readFileSync(caPath, 'utf8') : null;
  return { url, urls, token, ca };
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
          timeout: this.o.timeoutMs ?? 30_000,
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
          // the head may die mid-answer: that is a lost connection, not a crash of the CLI
          res.on('error', (err) => reject(new BrambleError('CONNECTION', `lost the connection to the head at ${this.o.url}: ${err.message}`, { cause: err })));
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
      req.on('timeout', () => req.destroy(new Error(`the head did not answer within ${Math.round((this.o.timeoutMs ?? 30_000) / 1000)} s`)));
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
