import { randomBytes } from 'node:crypto';
import type { ChunkFailureRecord, ChunkResultRecord, JobRecord, JobState, Journal, QuarantineRecord, WorkerStandingRecord } from '../core/index.js';
import { msgpackr } from '../core/index.js';
import type { Compare, EtcdKv, Op, TxnResult } from './etcd-client.js';
import { EtcdClient, prefixEnd } from './etcd-client.js';
import type { Fence } from './etcd-election.js';
import { FencedError } from './etcd-election.js';
import { SyncEtcd } from './etcd-sync.js';
import { StorageError } from './errors.js';

const packr = new (msgpackr().Packr)({ useRecords: false, moreTypes: false });

export interface EtcdJournalOptions {
  endpoints: string[];
  /** This journal's keys live under it (default `bramble/`). */
  prefix?: string;
  /** The current leadership (EtcdElection.fence); every write compares it. null: not the leader. */
  fence: () => Fence | null;
  /** etcd's --max-txn-ops (default 128): compares and operations per transaction. */
  maxTxnOps?: number;
  /** Bytes of keys and values per transaction, under etcd's --max-request-bytes (1.5 MiB default). */
  maxTxnBytes?: number;
  requestTimeoutMs?: number;
}

/** Output pieces: a chunk's output is stored as values of at most this many bytes. */
const PIECE = 512 * 1024;
const pad = (i: number): string => i.toString().padStart(12, '0');

interface ChunkMeta {
  s: number;
  a: number;
  w: string;
  m: unknown;
  f: number;
  /** output pieces (0: no output) */
  o: number;
  /** epoch of the leadership that committed it (absent in rows written before it was recorded) */
  e?: string;
}

interface JobJson extends Omit<JobRecord, 'start' | 'end' | 'chunk'> {
  start: string;
  end: string;
  chunk: string;
}

type TxnReq = { compare: Compare[]; success: Op[]; failure: Op[] };

/**
 * The ledger's journal in etcd, for highly available heads. Same contract as SqliteJournal.
 *
 * Keys (under the prefix; job ids URI-encoded, chunk indices zero-padded to 12 digits so keys sort in
 * chunk order):
 *   j/<job>                          job record (JSON, 64-bit bounds as decimal strings)
 *   s/<job>                          job summary (MessagePack)
 *   c/<job>/<index>                  one accepted result: span, attempt, worker, summary, time, pieces (MessagePack);
 *                                    its existence is the chunk's done mark
 *   o/<job>/<index>/<attempt>/<n>    the result's output, in pieces of at most 512 KiB
 *   f/<job>/<time>-<rand>            a failure (JSON), read back in creation order
 *   q/<job>/<index>                  a quarantine mark (JSON); ignored once the chunk is done
 *
 * Every write is a transaction whose first compare is the fence: the leader key's create revision must
 * equal this leadership's epoch. When it does not, nothing is written and the call fails with
 * FencedError. Results are committed many per transaction (split by --max-txn-ops and by bytes); each
 * result's row is its own done mark, put only if absent (create revision 0), so a second copy of a
 * chunk is reported as a duplicate and changes nothing. A batch larger than one transaction is
 * committed transaction by transaction: a failure midway leaves the earlier rows committed (each one
 * whole), which is what a restart would find anyway.
 */
export class EtcdJournal implements Journal {
  readonly prefix: string;
  private readonly sync: SyncEtcd;
  private readonly client: EtcdClient;
  private readonly fence: () => Fence | null;
  private readonly maxOps: number;
  private readonly maxBytes: number;
  /** Transactions refused by the fence (for tests and the dashboard). */
  refused = 0;

  constructor(options: EtcdJournalOptions) {
    this.prefix = options.prefix ?? 'bramble/';
    this.fence = options.fence;
    this.maxOps = options.maxTxnOps ?? 128;
    this.maxBytes = options.maxTxnBytes ?? 1024 * 1024;
    this.sync = new SyncEtcd(options.endpoints, options.requestTimeoutMs ?? 3000);
    this.client = new EtcdClient({ endpoints: options.endpoints, requestTimeoutMs: options.requestTimeoutMs ?? 3000 });
  }

  private k(kind: string, job: string, ...rest: string[]): string {
    return [`${this.prefix}${kind}`, encodeURIComponent(job), ...rest].join('/');
  }

  private currentFence(): Fence {
    const f = this.fence();
    if (!f || !f.valid()) {
      this.refused++;
      throw new FencedError('not the leader: this head may not write to the journal');
    }
    return f;
  }

  /** Runs a fenced transaction: the fence compare goes first, the leader key is read on failure. */
  private fenced(compare: Compare[], success: Op[], failure: Op[] = []): TxnReq {
    const f = this.currentFence();
    return { compare: [{ key: f.key, target: 'CREATE', value: f.epoch }, ...compare], success, failure: [{ range: { key: f.key } }, ...failure] };
  }

  /** After a failed fenced transaction: throws FencedError when the fence was what failed. */
  private checkFence(r: TxnResult, req: TxnReq): void {
    const leader = r.responses[0];
    const kv = leader && 'kvs' in leader ? leader.kvs[0] : undefined;
    const epoch = req.compare[0]?.value;
    if (!kv || kv.createRevision !== epoch) {
      this.refused++;
      throw new FencedError(`fenced: another leader holds the journal (epoch ${kv ? kv.createRevision : 'none'}, ours ${String(epoch)})`);
    }
  }

  private runSync(req: TxnReq): TxnResult {
    return this.sync.txn(req.compare, req.success, req.failure);
  }

  // ---- jobs -------------------------------------------------------------------------------------

  /**
   * One transaction: put the job key only while it is absent (create revision 0); when it is there,
   * the failure branch reads it back, so the caller gets the job that won in the same round trip.
   */
  createJob(job: JobRecord): JobRecord | undefined {
    const key = this.k('j', job.id);
    const json: JobJson = { ...job, start: job.start.toString(), end: job.end.toString(), chunk: job.chunk.toString() };
    const req = this.fenced([{ key, target: 'CREATE', value: 0 }], [{ put: { key, value: JSON.stringify(json) } }], [{ range: { key } }]);
    const r = this.runSync(req);
    if (r.succeeded) return undefined;
    this.checkFence(r, req);
    const got = r.responses[1];
    const kv = got && 'kvs' in got ? got.kvs[0] : undefined;
    if (!kv) throw new StorageError(`job ${job.id}: the transaction failed but the job key is absent`);
    return toJob(kv.value);
  }

  private readJob(id: string): { job: JobRecord; kv: EtcdKv } | undefined {
    const kv = this.sync.range(this.k('j', id)).kvs[0];
    return kv ? { job: toJob(kv.value), kv } : undefined;
  }

  setJobState(id: string, state: JobState, at: number, error: string | null = null): void {
    for (;;) {
      const got = this.readJob(id);
      if (!got) return;
      const j = got.job;
      j.state = state;
      j.error = error;
      if (state === 'running') j.startedAt ??= at;
      j.finishedAt = state === 'done' || state === 'failed' || state === 'cancelled' ? at : null;
      const key = this.k('j', id);
      const json: JobJson = { ...j, start: j.start.toString(), end: j.end.toString(), chunk: j.chunk.toString() };
      const req = this.fenced([{ key, target: 'MOD', value: got.kv.modRevision }], [{ put: { key, value: JSON.stringify(json) } }]);
      const r = this.runSync(req);
      if (r.succeeded) return;
      this.checkFence(r, req); // else the record changed under us: read it again
    }
  }

  setJobSummary(id: string, summary: unknown): void {
    const req = this.fenced([], [{ put: { key: this.k('s', id), value: packr.pack(summary) } }]);
    const r = this.runSync(req);
    if (!r.succeeded) this.checkFence(r, req);
  }

  getJobSummary(id: string): unknown {
    const kv = this.sync.range(this.k('s', id)).kvs[0];
    return kv ? packr.unpack(kv.value) : undefined;
  }

  getJob(id: string): JobRecord | undefined {
    return this.readJob(id)?.job;
  }

  listJobs(): JobRecord[] {
    const jobs: JobRecord[] = [];
    for (const kv of this.scan(`${this.prefix}j/`, prefixEnd(`${this.prefix}j/`), 500)) jobs.push(toJob(kv.value));
    return jobs.sort((a, b) => a.seq - b.seq);
  }

  /** Pages through a key range in key order, `page` keys per request. */
  private *scan(from: string | Buffer, end: Buffer, page: number, limit = Infinity): Generator<EtcdKv> {
    let key = Buffer.from(from);
    let left = limit;
    for (;;) {
      const r = this.sync.range(key, { rangeEnd: end, limit: Math.min(page, left) });
      for (const kv of r.kvs) yield kv;
      left -= r.kvs.length;
      if (!r.more || r.kvs.length === 0 || left <= 0) return;
      key = Buffer.concat([(r.kvs[r.kvs.length - 1] as EtcdKv).key, Buffer.from([0])]);
    }
  }

  // ---- results ----------------------------------------------------------------------------------

  commitChunks(rows: ChunkResultRecord[]): boolean[] {
    const plan = this.commitPlan(rows);
    let step = plan.next();
    while (!step.done) step = plan.next(this.runSync(step.value));
    return step.value;
  }

  async commitChunksAsync(rows: ChunkResultRecord[]): Promise<boolean[]> {
    const plan = this.commitPlan(rows);
    let step = plan.next();
    while (!step.done) {
      const req = step.value;
      step = plan.next(await this.client.txn(req.compare, req.success, req.failure));
    }
    return step.value;
  }

  /**
   * The commit as a sequence of transactions (yielded; the driver runs each one, sync or async, and
   * passes the answer back), so the blocking and the async paths share every decision.
   */
  private *commitPlan(rows: ChunkResultRecord[]): Generator<TxnReq, boolean[], TxnResult> {
    const fresh = rows.map(() => false);
    const seen = new Set<string>();
    const epoch = this.currentFence().epoch.toString();
    type Item = { i: number; key: string; meta: Buffer; pieces: Buffer[]; attempt: number; jobId: string; index: number; bytes: number };
    const items: Item[] = [];
    rows.forEach((r, i) => {
      const key = this.k('c', r.jobId, pad(r.index));
      if (seen.has(key)) return; // the same chunk twice in one batch: the first copy wins
      seen.add(key);
      const out = r.output;
      const pieces: Buffer[] = [];
      if (out && out.byteLength > 0) for (let at = 0; at < out.byteLength; at += PIECE) pieces.push(Buffer.from(out.buffer, out.byteOffset + at, Math.min(PIECE, out.byteLength - at)));
      const meta = packr.pack({ s: r.span, a: r.attempt, w: r.worker, m: r.summary, f: r.finishedAt, o: pieces.length, e: epoch } satisfies ChunkMeta);
      const bytes = key.length * 2 + meta.length + pieces.reduce((n, p) => n + p.length + key.length + 24, 0);
      items.push({ i, key, meta, pieces, attempt: r.attempt, jobId: r.jobId, index: r.index, bytes });
    });
    const pieceKey = (it: Item, n: number): string => this.k('o', it.jobId, pad(it.index), String(it.attempt), n.toString().padStart(6, '0'));

    // outputs too big to share a transaction go first, piece by piece, each write only while the chunk is not done
    const big = new Set<Item>();
    for (const it of items) {
      if (it.bytes <= this.maxBytes / 2) continue;
      big.add(it);
      let n = 0;
      while (n < it.pieces.length) {
        const ops: Op[] = [];
        let size = 0;
        while (n < it.pieces.length && ops.length < this.maxOps && (ops.length === 0 || size + (it.pieces[n] as Buffer).length <= this.maxBytes)) {
          size += (it.pieces[n] as Buffer).length;
          ops.push({ put: { key: pieceKey(it, n), value: it.pieces[n] as Buffer } });
          n++;
        }
        const req = this.fenced([{ key: it.key, target: 'CREATE', value: 0 }], ops);
        const r = yield req;
        if (!r.succeeded) {
          this.checkFence(r, req);
          break; // already done: a duplicate, found again below
        }
      }
    }

    // then rows in groups that fit one transaction: compares (fence + one per row), puts (row + small output)
    let pending = items;
    while (pending.length > 0) {
      const group: Item[] = [];
      let ops = 0;
      let bytes = 0;
      for (const it of pending) {
        const itOps = 1 + (big.has(it) ? 0 : it.pieces.length);
        const itBytes = big.has(it) ? it.key.length + it.meta.length : it.bytes;
        if (group.length > 0 && (ops + itOps > this.maxOps || group.length + 2 > this.maxOps || bytes + itBytes > this.maxBytes)) break;
        group.push(it);
        ops += itOps;
        bytes += itBytes;
      }
      const success: Op[] = [];
      for (const it of group) {
        success.push({ put: { key: it.key, value: it.meta } });
        if (!big.has(it)) it.pieces.forEach((p, n) => success.push({ put: { key: pieceKey(it, n), value: p } }));
      }
      const req = this.fenced(
        group.map((it) => ({ key: it.key, target: 'CREATE' as const, value: 0 })),
        success,
        group.map((it) => ({ range: { key: it.key, countOnly: true } })),
      );
      const r = yield req;
      const rest = pending.slice(group.length);
      if (r.succeeded) {
        for (const it of group) fresh[it.i] = true;
        pending = rest;
        continue;
      }
      this.checkFence(r, req);
      // some rows of the group were done already: drop them (duplicates) and try the others again
      const again = group.filter((_, n) => {
        const res = r.responses[n + 1];
        return !(res && 'count' in res && res.count > 0);
      });
      pending = [...again, ...rest];
    }
    return fresh;
  }

  doneSpans(jobId: string): Iterable<[number, number]> {
    const p = this.k('c', jobId, '');
    const spans: [number, number][] = [];
    for (const kv of this.scan(p, prefixEnd(p), 1000)) {
      const m = packr.unpack(kv.value) as ChunkMeta;
      spans.push([Number(kv.key.subarray(p.length).toString()), m.s]);
    }
    return spans;
  }

  *results(jobId: string, options: { withOutput?: boolean; from?: number } = {}): IterableIterator<ChunkResultRecord> {
    const p = this.k('c', jobId, '');
    const page = options.withOutput ? 16 : 512;
    let from = this.k('c', jobId, pad(options.from ?? 0));
    const end = prefixEnd(p);
    for (;;) {
      // one page at a time, nothing held open between pages (commits go on while a result streams out)
      const r = this.sync.range(from, { rangeEnd: end, limit: page });
      for (const kv of r.kvs) {
        const index = Number(kv.key.subarray(p.length).toString());
        const m = packr.unpack(kv.value) as ChunkMeta;
        let output: Uint8Array | null = null;
        if (options.withOutput && m.o > 0) {
          const op = this.k('o', jobId, pad(index), String(m.a), '');
          const parts = [...this.scan(op, prefixEnd(op), 4, m.o)].map((x) => x.value);
          output = new Uint8Array(Buffer.concat(parts));
        }
        yield { jobId, index, span: m.s, attempt: m.a, worker: m.w, summary: m.m, output, finishedAt: m.f };
      }
      if (!r.more || r.kvs.length === 0) return;
      from = this.k('c', jobId, pad(Number((r.kvs[r.kvs.length - 1] as EtcdKv).key.subarray(p.length).toString()) + 1));
    }
  }

  // ---- failures and quarantine -------------------------------------------------------------------

  recordFailure(f: ChunkFailureRecord): void {
    const key = this.k('f', f.jobId, `${Date.now().toString().padStart(15, '0')}-${randomBytes(6).toString('hex')}`);
    const req = this.fenced([], [{ put: { key, value: JSON.stringify(f) } }]);
    const r = this.runSync(req);
    if (!r.succeeded) this.checkFence(r, req);
  }

  failures(jobId: string): ChunkFailureRecord[] {
    const p = this.k('f', jobId, '');
    return [...this.scan(p, prefixEnd(p), 1000)].sort((a, b) => (a.createRevision < b.createRevision ? -1 : 1)).map((kv) => JSON.parse(kv.value.toString('utf8')) as ChunkFailureRecord);
  }

  quarantine(q: QuarantineRecord): void {
    const req = this.fenced([], [{ put: { key: this.k('q', q.jobId, pad(q.index)), value: JSON.stringify(q) } }]);
    const r = this.runSync(req);
    if (!r.succeeded) this.checkFence(r, req);
  }

  quarantined(jobId: string): QuarantineRecord[] {
    const p = this.k('q', jobId, '');
    const out: QuarantineRecord[] = [];
    for (const kv of this.scan(p, prefixEnd(p), 1000)) {
      const q = JSON.parse(kv.value.toString('utf8')) as QuarantineRecord;
      // a chunk that got a result after all is no longer quarantined
      if (this.sync.range(this.k('c', jobId, pad(q.index)), { countOnly: true }).count === 0) out.push(q);
    }
    return out;
  }

  uncommitChunks(jobId: string, indices: readonly number[]): void {
    for (const i of indices) {
      const o = this.k('o', jobId, pad(i), '');
      const req = this.fenced([], [{ del: { key: this.k('c', jobId, pad(i)) } }, { del: { key: o, rangeEnd: prefixEnd(o) } }]);
      const r = this.runSync(req);
      if (!r.succeeded) this.checkFence(r, req);
    }
  }

  setWorkerStanding(w: WorkerStandingRecord): void {
    const key = `${this.prefix}w/${encodeURIComponent(w.worker)}`;
    const op: Op = w.strikes === 0 && !w.suspect ? { del: { key } } : { put: { key, value: JSON.stringify(w) } };
    const req = this.fenced([], [op]);
    const r = this.runSync(req);
    if (!r.succeeded) this.checkFence(r, req);
  }

  workerStandings(): WorkerStandingRecord[] {
    const p = `${this.prefix}w/`;
    return [...this.scan(p, prefixEnd(p), 1000)].map((kv) => JSON.parse(kv.value.toString('utf8')) as WorkerStandingRecord);
  }

  /** Drops etcd's history of this cluster's keys older than `keep` revisions (call it now and then). */
  async compact(keep = 10_000): Promise<void> {
    const rev = (await this.client.range(`${this.prefix}j/`, { countOnly: true })).revision;
    if (rev > BigInt(keep)) await this.client.compact(rev - BigInt(keep));
  }

  close(): void {
    this.sync.close();
    this.client.close();
  }
}

function toJob(value: Buffer): JobRecord {
  const j = JSON.parse(value.toString('utf8')) as JobJson;
  return { ...j, start: BigInt(j.start), end: BigInt(j.end), chunk: BigInt(j.chunk) };
}
