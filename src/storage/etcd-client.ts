import http from 'node:http';
import { StorageError } from './errors.js';

/**
 * A small client for etcd's JSON gateway (`/v3/kv/*`, `/v3/lease/*`), served by etcd 3.4 and 3.5 on
 * the client port. Plain HTTP/1.1 with a keep-alive agent; keys and values base64 in the JSON, int64s as
 * strings. No gRPC, no generated code, no background "lease lost" machinery to trust: callers time their
 * own leases (see EtcdElection). A request that cannot reach a member (refused, reset, timed out, or
 * answered "unavailable") is tried on the next endpoint; an answer from etcd is never retried here.
 */

export interface EtcdKv {
  key: Buffer;
  value: Buffer;
  createRevision: bigint;
  modRevision: bigint;
  version: bigint;
  lease: string;
}

export interface Compare {
  key: Buffer | string;
  target: 'CREATE' | 'MOD' | 'VERSION' | 'VALUE';
  result?: 'EQUAL' | 'NOT_EQUAL' | 'GREATER' | 'LESS';
  /** revision or version for CREATE/MOD/VERSION; bytes for VALUE */
  value: bigint | number | Buffer;
}

export type Op =
  | { put: { key: Buffer | string; value: Buffer | string; lease?: string } }
  | { range: { key: Buffer | string; rangeEnd?: Buffer | string; limit?: number; keysOnly?: boolean; countOnly?: boolean } }
  | { del: { key: Buffer | string; rangeEnd?: Buffer | string } };

export type OpResult = { kvs: EtcdKv[]; count: number; more: boolean } | { put: true } | { deleted: number };

export interface TxnResult {
  succeeded: boolean;
  revision: bigint;
  responses: OpResult[];
}

/** A typed error from etcd itself (gRPC code and message), e.g. NOSPACE, request too large. */
export class EtcdError extends StorageError {
  override name = 'EtcdError';
  constructor(
    message: string,
    readonly grpcCode: number,
  ) {
    super(`etcd: ${message}`);
  }
  /** The cluster hit its space quota (alarm NOSPACE): writes fail until it is compacted and defragmented. */
  get noSpace(): boolean {
    return /database space exceeded|NOSPACE/i.test(this.message);
  }
}

const b64 = (k: Buffer | string): string => (typeof k === 'string' ? Buffer.from(k) : k).toString('base64');

/** The key just after every key with this prefix (etcd's range_end for a prefix). */
export function prefixEnd(prefix: Buffer | string): Buffer {
  const b = Buffer.from(typeof prefix === 'string' ? Buffer.from(prefix) : prefix);
  for (let i = b.length - 1; i >= 0; i--) {
    if ((b[i] as number) < 0xff) {
      b[i] = (b[i] as number) + 1;
      return b.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

interface RawKv {
  key: string;
  value?: string;
  create_revision?: string;
  mod_revision?: string;
  version?: string;
  lease?: string;
}

function toKv(r: RawKv): EtcdKv {
  return {
    key: Buffer.from(r.key, 'base64'),
    value: Buffer.from(r.value ?? '', 'base64'),
    createRevision: BigInt(r.create_revision ?? 0),
    modRevision: BigInt(r.mod_revision ?? 0),
    version: BigInt(r.version ?? 0),
    lease: r.lease ?? '0',
  };
}

function rawRange(r: { key: Buffer | string; rangeEnd?: Buffer | string; limit?: number; keysOnly?: boolean; countOnly?: boolean }): Record<string, unknown> {
  const o: Record<string, unknown> = { key: b64(r.key) };
  if (r.rangeEnd !== undefined) o.range_end = b64(r.rangeEnd);
  if (r.limit) o.limit = String(r.limit);
  if (r.keysOnly) o.keys_only = true;
  if (r.countOnly) o.count_only = true;
  return o;
}

function rawOp(op: Op): Record<string, unknown> {
  if ('put' in op) {
    const p: Record<string, unknown> = { key: b64(op.put.key), value: b64(op.put.value) };
    if (op.put.lease && op.put.lease !== '0') p.lease = op.put.lease;
    return { request_put: p };
  }
  if ('range' in op) return { request_range: rawRange(op.range) };
  const d: Record<string, unknown> = { key: b64(op.del.key) };
  if (op.del.rangeEnd !== undefined) d.range_end = b64(op.del.rangeEnd);
  return { request_delete_range: d };
}

function rawCompare(c: Compare): Record<string, unknown> {
  const o: Record<string, unknown> = { key: b64(c.key), target: c.target, result: c.result ?? 'EQUAL' };
  if (c.target === 'CREATE') o.create_revision = String(c.value);
  else if (c.target === 'MOD') o.mod_revision = String(c.value);
  else if (c.target === 'VERSION') o.version = String(c.value);
  else o.value = b64(c.value as Buffer);
  return o;
}

interface RawRangeResp {
  kvs?: RawKv[];
  count?: string;
  more?: boolean;
}

function toRange(r: RawRangeResp): { kvs: EtcdKv[]; count: number; more: boolean } {
  return { kvs: (r.kvs ?? []).map(toKv), count: Number(r.count ?? 0), more: r.more === true };
}

export type RangeOptions = { rangeEnd?: Buffer | string; limit?: number; keysOnly?: boolean; countOnly?: boolean };
export type RangeResult = { kvs: EtcdKv[]; count: number; more: boolean; revision: bigint };

export function txnBody(compare: Compare[], success: Op[], failure: Op[] = []): Record<string, unknown> {
  return { compare: compare.map(rawCompare), success: success.map(rawOp), failure: failure.map(rawOp) };
}

export function parseTxn(r: Record<string, unknown>): TxnResult {
  const header = r.header as { revision?: string } | undefined;
  const responses = ((r.responses ?? []) as Record<string, unknown>[]).map((x): OpResult => {
    if (x.response_range) return toRange(x.response_range as RawRangeResp);
    if (x.response_delete_range) return { deleted: Number((x.response_delete_range as { deleted?: string }).deleted ?? 0) };
    return { put: true };
  });
  return { succeeded: r.succeeded === true, revision: BigInt(header?.revision ?? 0), responses };
}

export function rangeBody(key: Buffer | string, options: RangeOptions = {}): Record<string, unknown> {
  return rawRange({ key, ...options });
}

export function parseRange(r: Record<string, unknown>): RangeResult {
  return { ...toRange(r as RawRangeResp), revision: BigInt((r.header as { revision?: string } | undefined)?.revision ?? 0) };
}

export interface EtcdClientOptions {
  /** http://host:2379 URLs of the members (the gateway is on the client port). */
  endpoints: string[];
  /** Per request, before trying the next member. */
  requestTimeoutMs?: number;
}

export class EtcdClient {
  readonly endpoints: URL[];
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  private current = 0;
  private readonly timeoutMs: number;

  constructor(options: EtcdClientOptions) {
    if (options.endpoints.length === 0) throw new StorageError('etcd: no endpoints');
    this.endpoints = options.endpoints.map((e) => new URL(e.includes('://') ? e : `http://${e}`));
    for (const e of this.endpoints) if (e.protocol !== 'http:') throw new StorageError(`etcd: only http:// endpoints for now (${e.href})`);
    this.timeoutMs = options.requestTimeoutMs ?? 3000;
  }

  /** POSTs a JSON body to one gateway path, member after member until one answers. */
  async call(path: string, body: unknown, timeoutMs = this.timeoutMs): Promise<Record<string, unknown>> {
    const data = Buffer.from(JSON.stringify(body));
    let lastErr: Error | null = null;
    for (let tries = 0; tries < this.endpoints.length; tries++) {
      const ep = this.endpoints[this.current] as URL;
      try {
        const { status, text } = await this.post(ep, path, data, timeoutMs);
        const json = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
        if (status === 200) return json;
        const msg = String(json.message ?? json.error ?? text);
        const code = Number(json.code ?? 0);
        // 14 = unavailable (no leader, member stopping): another member may do better
        if (code === 14 || status === 503) throw Object.assign(new Error(msg), { retry: true });
        throw new EtcdError(msg, code);
      } catch (err) {
        if (err instanceof EtcdError) throw err;
        lastErr = err as Error;
        this.current = (this.current + 1) % this.endpoints.length;
      }
    }
    throw new StorageError(`etcd unreachable (${this.endpoints.map((e) => e.host).join(', ')}): ${lastErr?.message ?? 'no answer'}`, { cause: lastErr });
  }

  private post(ep: URL, path: string, data: Buffer, timeoutMs: number): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        { host: ep.hostname, port: ep.port || 2379, path, method: 'POST', agent: this.agent, headers: { 'content-type': 'application/json', 'content-length': data.length } },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (c: Buffer) => parts.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(parts).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`timed out after ${timeoutMs} ms on ${ep.host}`)));
      req.on('error', reject);
      req.end(data);
    });
  }

  async txn(compare: Compare[], success: Op[], failure: Op[] = []): Promise<TxnResult> {
    return parseTxn(await this.call('/v3/kv/txn', txnBody(compare, success, failure)));
  }

  async range(key: Buffer | string, options: RangeOptions = {}): Promise<RangeResult> {
    return parseRange(await this.call('/v3/kv/range', rawRange({ key, ...options })));
  }

  async get(key: Buffer | string): Promise<EtcdKv | undefined> {
    return (await this.range(key)).kvs[0];
  }

  async put(key: Buffer | string, value: Buffer | string, lease?: string): Promise<bigint> {
    const p: Record<string, unknown> = { key: b64(key), value: b64(value) };
    if (lease) p.lease = lease;
    const r = await this.call('/v3/kv/put', p);
    return BigInt((r.header as { revision?: string } | undefined)?.revision ?? 0);
  }

  /** A lease of ttlS seconds; its ID as a decimal string. */
  async grant(ttlS: number): Promise<{ id: string; ttlS: number }> {
    const r = await this.call('/v3/lease/grant', { TTL: String(ttlS) });
    if (r.error) throw new EtcdError(String(r.error), 0);
    return { id: String(r.ID), ttlS: Number(r.TTL) };
  }

  /** Renews a lease once; its remaining TTL in seconds, 0 when the lease is gone. */
  async keepAlive(id: string, timeoutMs?: number): Promise<number> {
    const r = await this.call('/v3/lease/keepalive', { ID: id }, timeoutMs);
    const res = r.result as { TTL?: string } | undefined;
    if (!res) throw new StorageError(`etcd: keepalive answered ${JSON.stringify(r).slice(0, 200)}`);
    return Number(res.TTL ?? 0);
  }

  async revoke(id: string): Promise<void> {
    try {
      await this.call('/v3/lease/revoke', { ID: id });
    } catch (err) {
      if (!(err instanceof EtcdError && /lease not found/.test(err.message))) throw err;
    }
  }

  /** Alarms raised in the cluster, e.g. `NOSPACE` (the quota is full: writes fail until space is freed and the alarm disarmed). */
  async alarms(): Promise<string[]> {
    const r = await this.call('/v3/maintenance/alarm', { action: 'GET' });
    const list = (r['alarms'] as { alarm?: string }[] | undefined) ?? [];
    return list.map((a) => a.alarm ?? 'NONE').filter((a) => a !== 'NONE');
  }

  /** Size in bytes of the backend database of the member that answers. */
  async dbSize(): Promise<number> {
    const r = await this.call('/v3/maintenance/status', {});
    return Number(r['dbSize'] ?? 0);
  }

  /** Drops history before `revision` (etcd keeps every version until compacted). */
  async compact(revision: bigint): Promise<void> {
    try {
      await this.call('/v3/kv/compaction', { revision: String(revision), physical: false });
    } catch (err) {
      if (!(err instanceof EtcdError && /compacted/.test(err.message))) throw err;
    }
  }

  close(): void {
    this.agent.destroy();
  }
}
