import type { JobRecord, JobState } from './job.js';
import type { ChunkFailureRecord, ChunkResultRecord, Journal, QuarantineRecord, WorkerStandingRecord } from './journal.js';

/** A journal in memory: for tests of the ledger and for throwaway runs. Same contract as SqliteJournal. */
export class MemoryJournal implements Journal {
  private readonly jobs = new Map<string, JobRecord & { summary?: unknown }>();
  private readonly chunks = new Map<string, Map<number, ChunkResultRecord>>();
  private readonly fails: ChunkFailureRecord[] = [];
  private readonly quar = new Map<string, Map<number, QuarantineRecord>>();
  private readonly standing = new Map<string, WorkerStandingRecord>();

  createJob(job: JobRecord): JobRecord | undefined {
    if (this.jobs.has(job.id)) return this.getJob(job.id);
    this.jobs.set(job.id, { ...job });
    return undefined;
  }
  setJobState(id: string, state: JobState, at: number, error: string | null = null): void {
    const j = this.jobs.get(id);
    if (!j) return;
    j.state = state;
    j.error = error;
    if (state === 'running') j.startedAt ??= at;
    j.finishedAt = state === 'done' || state === 'failed' || state === 'cancelled' ? at : null;
  }
  setJobSummary(id: string, summary: unknown): void {
    const j = this.jobs.get(id);
    if (j) j.summary = summary;
  }
  getJobSummary(id: string): unknown {
    return this.jobs.get(id)?.summary;
  }
  getJob(id: string): JobRecord | undefined {
    const j = this.jobs.get(id);
    if (!j) return undefined;
    const { summary: _s, ...rest } = j;
    return rest;
  }
  listJobs(): JobRecord[] {
    return [...this.jobs.keys()].map((id) => this.getJob(id) as JobRecord).sort((a, b) => a.seq - b.seq);
  }
  commitChunks(rows: ChunkResultRecord[]): boolean[] {
    return rows.map((r) => {
      let m = this.chunks.get(r.jobId);
      if (!m) this.chunks.set(r.jobId, (m = new Map()));
      if (m.has(r.index)) return false;
      m.set(r.index, { ...r });
      this.quar.get(r.jobId)?.delete(r.index);
      return true;
    });
  }
  /** Resolves on a later turn, as a commit thread would: callers must not assume it is synchronous. */
  async commitChunksAsync(rows: ChunkResultRecord[]): Promise<boolean[]> {
    await Promise.resolve();
    return this.commitChunks(rows);
  }
  doneSpans(jobId: string): Iterable<[number, number]> {
    return [...(this.chunks.get(jobId)?.values() ?? [])].map((r) => [r.index, r.span] as [number, number]);
  }
  recordFailure(f: ChunkFailureRecord): void {
    this.fails.push({ ...f });
  }
  failures(jobId: string): ChunkFailureRecord[] {
    return this.fails.filter((f) => f.jobId === jobId);
  }
  quarantine(q: QuarantineRecord): void {
    let m = this.quar.get(q.jobId);
    if (!m) this.quar.set(q.jobId, (m = new Map()));
    m.set(q.index, { ...q });
  }
  quarantined(jobId: string): QuarantineRecord[] {
    return [...(this.quar.get(jobId)?.values() ?? [])].sort((a, b) => a.index - b.index);
  }
  uncommitChunks(jobId: string, indices: readonly number[]): void {
    const m = this.chunks.get(jobId);
    for (const i of indices) m?.delete(i);
  }
  setWorkerStanding(r: WorkerStandingRecord): void {
    if (r.strikes === 0 && !r.suspect) this.standing.delete(r.worker);
    else this.standing.set(r.worker, { ...r });
  }
  workerStandings(): WorkerStandingRecord[] {
    return [...this.standing.values()].map((r) => ({ ...r }));
  }
  *results(jobId: string, options: { withOutput?: boolean; from?: number } = {}): IterableIterator<ChunkResultRecord> {
    const m = this.chunks.get(jobId);
    if (!m) return;
    for (const i of [...m.keys()].sort((a, b) => a - b)) {
      if (i < (options.from ?? 0)) continue;
      const r = m.get(i) as ChunkResultRecord;
      yield options.withOutput ? r : { ...r, output: null };
    }
  }
  close(): void {}
}
