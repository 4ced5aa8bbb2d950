import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import type { ChunkFailureRecord, ChunkResultRecord, JobRecord, JobState, Journal, QuarantineRecord, WorkerStandingRecord } from '../core/index.js';
import { msgpackr } from '../core/index.js';
import { StorageError } from './errors.js';
import type { PackedChunkRow } from './journal-db.js';
import { chunkCommitter, openJournalDb } from './journal-db.js';

/** The compiled thread module (tests that run the TypeScript sources use the build in dist/). */
function threadUrl(name: string): URL {
  const here = import.meta.url;
  return here.endsWith('.ts') ? new URL(`../../dist/storage/${name}.js`, here) : new URL(`./${name}.js`, here);
}

function packRow(r: ChunkResultRecord): PackedChunkRow {
  return { ...r, summary: packr.pack(r.summary) };
}

const packr = new (msgpackr().Packr)({ useRecords: false, moreTypes: false });

interface JobRow {
  id: string;
  seq: number;
  task: string;
  params: string;
  start: string;
  end: string;
  chunk: string;
  chunks: number;
  chunk_ms: number | null;
  priority: number;
  max_attempts: number;
  replicas: number;
  verify: number;
  state: JobState;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  error: string | null;
  request: string | null;
}

function toJob(r: JobRow): JobRecord {
  return {
    id: r.id,
    seq: r.seq,
    task: r.task,
    params: JSON.parse(r.params) as Record<string, unknown>,
    start: BigInt(r.start),
    end: BigInt(r.end),
    chunk: BigInt(r.chunk),
    chunks: r.chunks,
    chunkMs: r.chunk_ms,
    priority: r.priority,
    maxAttempts: r.max_attempts,
    ...(r.replicas > 1 ? { replicas: r.replicas } : {}),
    ...(r.verify > 0 ? { verify: r.verify } : {}),
    state: r.state,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    error: r.error,
    request: r.request,
  };
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY, seq INTEGER NOT NULL, task TEXT NOT NULL, params TEXT NOT NULL,
  start TEXT NOT NULL, "end" TEXT NOT NULL, chunk TEXT NOT NULL, chunks INTEGER NOT NULL, chunk_ms INTEGER,
  priority INTEGER NOT NULL, max_attempts INTEGER NOT NULL, state TEXT NOT NULL,
  created_at INTEGER NOT NULL, started_at INTEGER, finished_at INTEGER, error TEXT, summary BLOB, request TEXT,
  replicas INTEGER NOT NULL DEFAULT 1, verify REAL NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS chunks (
  job_id TEXT NOT NULL, idx INTEGER NOT NULL, span INTEGER NOT NULL DEFAULT 1, attempt INTEGER NOT NULL, worker TEXT NOT NULL,
  summary BLOB NOT NULL, output BLOB, finished_at INTEGER NOT NULL,
  PRIMARY KEY (job_id, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS failures (
  job_id TEXT NOT NULL, idx INTEGER NOT NULL, attempt INTEGER NOT NULL, worker TEXT NOT NULL,
  error TEXT NOT NULL, at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS failures_job ON failures (job_id, idx);
CREATE TABLE IF NOT EXISTS quarantine (
  job_id TEXT NOT NULL, idx INTEGER NOT NULL, span INTEGER NOT NULL DEFAULT 1, error TEXT NOT NULL, PRIMARY KEY (job_id, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS standing (worker TEXT PRIMARY KEY, strikes INTEGER NOT NULL, suspect INTEGER NOT NULL);
`;

/**
 * The embedded journal: one SQLite file in WAL mode with synchronous=FULL (checked at open), so a
 * result acknowledged to a worker survives a power cut of the head.
 */
export class SqliteJournal implements Journal {
  readonly db: Database.Database;
  private readonly st;

  constructor(readonly path: string) {
    try {
      this.db = openJournalDb(path);
      this.db.exec(SCHEMA);
      // journals made before idempotent submits (issue 18) lack the request column, before issue 17's
      // replication the replicas and verify columns
      const cols = new Set((this.db.prepare('PRAGMA table_info(jobs)').all() as { name: string }[]).map((c) => c.name));
      if (!cols.has('request')) this.db.exec('ALTER TABLE jobs ADD COLUMN request TEXT');
      if (!cols.has('replicas')) this.db.exec('ALTER TABLE jobs ADD COLUMN replicas INTEGER NOT NULL DEFAULT 1');
      if (!cols.has('verify')) this.db.exec('ALTER TABLE jobs ADD COLUMN verify REAL NOT NULL DEFAULT 0');
    } catch (err) {
      throw new StorageError(`cannot open the journal ${path}: ${(err as Error).message}`, { cause: err });
    }
    const db = this.db;
    this.st = {
      insertJob: db.prepare(
        `INSERT INTO jobs (id, seq, task, params, start, "end", chunk, chunks, chunk_ms, priority, max_attempts, replicas, verify, state, created_at, started_at, finished_at, error, request)
         VALUES (@id, @seq, @task, @params, @start, @end, @chunk, @chunks, @chunk_ms, @priority, @max_attempts, @replicas, @verify, @state, @created_at, @started_at, @finished_at, @error, @request)
         ON CONFLICT (id) DO NOTHING`,
      ),
      setState: db.prepare(
        `UPDATE jobs SET state = ?, error = ?, started_at = COALESCE(started_at, CASE WHEN ? = 'running' THEN ? END),
         finished_at = CASE WHEN ? IN ('done','failed','cancelled') THEN ? ELSE NULL END WHERE id = ?`,
      ),
      setSummary: db.prepare('UPDATE jobs SET summary = ? WHERE id = ?'),
      getSummary: db.prepare('SELECT summary FROM jobs WHERE id = ?'),
      getJob: db.prepare('SELECT * FROM jobs WHERE id = ?'),
      listJobs: db.prepare('SELECT * FROM jobs ORDER BY seq'),
      doneSpans: db.prepare('SELECT idx, span FROM chunks WHERE job_id = ?').raw(),
      insertFailure: db.prepare('INSERT INTO failures (job_id, idx, attempt, worker, error, at) VALUES (?, ?, ?, ?, ?, ?)'),
      failures: db.prepare('SELECT * FROM failures WHERE job_id = ? ORDER BY rowid'),
      quarantine: db.prepare('INSERT OR REPLACE INTO quarantine (job_id, idx, span, error) VALUES (?, ?, ?, ?)'),
      quarantined: db.prepare('SELECT * FROM quarantine WHERE job_id = ? ORDER BY idx'),
      results: db.prepare('SELECT idx, span, attempt, worker, summary, finished_at FROM chunks WHERE job_id = ? AND idx >= ? ORDER BY idx LIMIT ?'),
      uncommit: db.prepare('DELETE FROM chunks WHERE job_id = ? AND idx = ?'),
      setStanding: db.prepare('INSERT OR REPLACE INTO standing (worker, strikes, suspect) VALUES (?, ?, ?)'),
      clearStanding: db.prepare('DELETE FROM standing WHERE worker = ?'),
      standings: db.prepare('SELECT worker, strikes, suspect FROM standing ORDER BY worker'),
      resultsOut: db.prepare('SELECT idx, span, attempt, worker, summary, output, finished_at FROM chunks WHERE job_id = ? AND idx >= ? ORDER BY idx LIMIT ?'),
    };
    this.commitTx = chunkCommitter(db);
  }

  private readonly commitTx: (rows: PackedChunkRow[]) => boolean[];
  private writer: Worker | null = null;
  private writerSeq = 0;
  private readonly writerWaits = new Map<number, { resolve: (f: boolean[]) => void; reject: (e: Error) => void }>();

  /**
   * Commits on the journal's commit thread (same transaction, same synchronous=FULL), resolving once
   * the rows are durable. The event loop keeps serving while the disk syncs.
   */
  commitChunksAsync(rows: ChunkResultRecord[]): Promise<boolean[]> {
    if (this.path === ':memory:') return Promise.resolve(this.commitChunks(rows));
    if (!this.writer) {
      this.writer = new Worker(threadUrl('commit-thread'), { workerData: { path: this.path } });
      this.writer.on('message', (m: { id: number; fresh?: boolean[]; error?: string }) => {
        const w = this.writerWaits.get(m.id);
        this.writerWaits.delete(m.id);
        if (!w) return;
        if (m.error !== undefined) w.reject(new StorageError(`journal commit failed: ${m.error}`));
        else w.resolve(m.fresh ?? []);
      });
      const failAll = (err: Error): void => {
        for (const w of this.writerWaits.values()) w.reject(new StorageError(`journal commit thread failed: ${err.message}`, { cause: err }));
        this.writerWaits.clear();
        this.writer = null;
      };
      this.writer.on('error', failAll);
      this.writer.on('exit', (code) => failAll(new Error(`exited with code ${code}`)));
    }
    const id = ++this.writerSeq;
    const packed = rows.map(packRow);
    // large outputs sit in buffers of their own (a frame body each): move them to the commit thread
    // instead of copying them; the caller does not read a committed output again
    const transfer: ArrayBuffer[] = [];
    for (const r of packed) {
      const b = r.output?.buffer;
      if (b instanceof ArrayBuffer && b.byteLength >= 64 * 1024 && !transfer.includes(b)) transfer.push(b);
    }
    return new Promise((resolve, reject) => {
      this.writerWaits.set(id, { resolve, reject });
      this.writer?.postMessage({ id, rows: packed }, transfer);
    });
  }

  /** One statement: the primary key decides, so a second connection racing on the id writes nothing. */
  createJob(job: JobRecord): JobRecord | undefined {
    const info = this.st.insertJob.run({
      id: job.id,
      seq: job.seq,
      task: job.task,
      params: JSON.stringify(job.params),
      start: job.start.toString(),
      end: job.end.toString(),
      chunk: job.chunk.toString(),
      chunks: job.chunks,
      chunk_ms: job.chunkMs,
      priority: job.priority,
      max_attempts: job.maxAttempts,
      replicas: job.replicas ?? 1,
      verify: job.verify ?? 0,
      state: job.state,
      created_at: job.createdAt,
      started_at: job.startedAt,
      finished_at: job.finishedAt,
      error: job.error,
      request: job.request ?? null,
    });
    if (info.changes === 1) return undefined;
    return this.getJob(job.id);
  }

  setJobState(id: string, state: JobState, at: number, error: string | null = null): void {
    this.st.setState.run(state, error, state, at, state, at, id);
  }

  setJobSummary(id: string, summary: unknown): void {
    this.st.setSummary.run(packr.pack(summary), id);
  }

  getJobSummary(id: string): unknown {
    const row = this.st.getSummary.get(id) as { summary: Buffer | null } | undefined;
    return row?.summary ? packr.unpack(row.summary) : undefined;
  }

  getJob(id: string): JobRecord | undefined {
    const row = this.st.getJob.get(id) as JobRow | undefined;
    return row ? toJob(row) : undefined;
  }

  listJobs(): JobRecord[] {
    return (this.st.listJobs.all() as JobRow[]).map(toJob);
  }

  commitChunks(rows: ChunkResultRecord[]): boolean[] {
    return this.commitTx(rows.map(packRow));
  }

  doneSpans(jobId: string): Iterable<[number, number]> {
    return this.st.doneSpans.all(jobId) as [number, number][];
  }

  recordFailure(f: ChunkFailureRecord): void {
    this.st.insertFailure.run(f.jobId, f.index, f.attempt, f.worker, f.error, f.at);
  }

  failures(jobId: string): ChunkFailureRecord[] {
    return (this.st.failures.all(jobId) as { job_id: string; idx: number; attempt: number; worker: string; error: string; at: number }[]).map(
      (r) => ({ jobId: r.job_id, index: r.idx, attempt: r.attempt, worker: r.worker, error: r.error, at: r.at }),
    );
  }

  quarantine(q: QuarantineRecord): void {
    this.st.quarantine.run(q.jobId, q.index, q.span, q.error);
  }

  quarantined(jobId: string): QuarantineRecord[] {
    return (this.st.quarantined.all(jobId) as { job_id: string; idx: number; span: number; error: string }[]).map((r) => ({
      jobId: r.job_id,
      index: r.idx,
      span: r.span,
      error: r.error,
    }));
  }

  uncommitChunks(jobId: string, indices: readonly number[]): void {
    this.db.transaction(() => {
      for (const i of indices) this.st.uncommit.run(jobId, i);
    })();
  }

  setWorkerStanding(r: WorkerStandingRecord): void {
    if (r.strikes === 0 && !r.suspect) this.st.clearStanding.run(r.worker);
    else this.st.setStanding.run(r.worker, r.strikes, r.suspect ? 1 : 0);
  }

  workerStandings(): WorkerStandingRecord[] {
    return (this.st.standings.all() as { worker: string; strikes: number; suspect: number }[]).map((r) => ({ worker: r.worker, strikes: r.strikes, suspect: r.suspect === 1 }));
  }

  /**
   * Pages through the rows (a few at a time with outputs, more without) so no statement stays open
   * while the caller awaits: commits go on while a 50-million-prime output streams out.
   */
  *results(jobId: string, options: { withOutput?: boolean; from?: number } = {}): IterableIterator<ChunkResultRecord> {
    const stmt = options.withOutput ? this.st.resultsOut : this.st.results;
    const page = options.withOutput ? 4 : 512;
    let from = options.from ?? 0;
    for (;;) {
      const rows = stmt.all(jobId, from, page) as {
        idx: number;
        span: number;
        attempt: number;
        worker: string;
        summary: Buffer;
        output?: Buffer | null;
        finished_at: number;
      }[];
      for (const r of rows) {
        yield {
          jobId,
          index: r.idx,
          span: r.span,
          attempt: r.attempt,
          worker: r.worker,
          summary: packr.unpack(r.summary),
          output: r.output ? new Uint8Array(r.output.buffer, r.output.byteOffset, r.output.byteLength) : null,
          finishedAt: r.finished_at,
        };
      }
      if (rows.length < page) return;
      from = (rows[rows.length - 1] as { idx: number }).idx + 1;
    }
  }

  integrityCheck(): string {
    return String(this.db.pragma('integrity_check', { simple: true }));
  }

  close(): void {
    if (this.writer) {
      this.writer.removeAllListeners('exit');
      this.writer.postMessage({ close: true });
      this.writer = null;
    }
    if (this.db.open) this.db.close();
  }
}
