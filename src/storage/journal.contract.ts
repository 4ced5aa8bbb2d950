import { describe, expect, it } from 'vitest';
import type { JobRecord, Journal } from '../core/index.js';

/** One contract for every Journal implementation (run by each implementation's test file). */
export function journalContract(name: string, make: () => { journal: Journal; reopen?: () => Journal }): void {
  const job = (id: string, seq = 1): JobRecord => ({
    id,
    seq,
    task: 'primes',
    params: { list: true },
    start: 18446744073709551000n,
    end: 18446744073709551615n,
    chunk: 100n,
    chunks: 7,
    chunkMs: null,
    priority: 0,
    maxAttempts: 3,
    state: 'queued',
    createdAt: 1,
    startedAt: null,
    finishedAt: null,
    error: null,
  });

  describe(`${name} (journal contract)`, () => {
    it('stores jobs with exact 64-bit bounds and state changes', () => {
      const { journal } = make();
      journal.createJob(job('a'));
      journal.setJobState('a', 'running', 5);
      journal.setJobState('a', 'done', 9);
      const j = journal.getJob('a');
      expect(j?.start).toBe(18446744073709551000n);
      expect(j?.end).toBe(18446744073709551615n);
      expect(j?.state).toBe('done');
      expect(j?.startedAt).toBe(5);
      expect(j?.finishedAt).toBe(9);
      expect(journal.listJobs().map((x) => x.id)).toEqual(['a']);
    });

    it('creates a job once: a second create with its id writes nothing and returns the job already there', () => {
      const { journal } = make();
      const first = { ...job('a'), request: '{"task":"primes","--end":"1000"}' };
      expect(journal.createJob(first)).toBeUndefined();
      journal.setJobState('a', 'running', 5);
      const again = journal.createJob({ ...job('a', 2), end: 5n, request: '{"task":"primes","--end":"2000"}' });
      expect(again?.request).toBe('{"task":"primes","--end":"1000"}');
      expect(again?.state).toBe('running');
      expect(again?.end).toBe(18446744073709551615n);
      expect(journal.getJob('a')?.request).toBe('{"task":"primes","--end":"1000"}');
      expect(journal.getJob('a')?.seq).toBe(1);
      expect(journal.listJobs()).toHaveLength(1);
      expect(journal.createJob(job('b', 2))).toBeUndefined();
      expect(journal.getJob('b')?.request ?? null).toBeNull();
    });

    it('decides in the store, not in one handle: a second handle on the same store finds the job', () => {
      const made = make();
      if (!made.reopen) return;
      expect(made.journal.createJob({ ...job('a'), request: '{"r":1}' })).toBeUndefined();
      const other = made.reopen(); // another head's handle, both open
      expect(other.createJob({ ...job('a'), request: '{"r":2}' })?.request).toBe('{"r":1}');
      expect(made.journal.createJob({ ...job('a'), request: '{"r":3}' })?.request).toBe('{"r":1}');
      expect(other.createJob({ ...job('c'), request: '{"r":4}' })).toBeUndefined();
      expect(made.journal.getJob('c')?.request).toBe('{"r":4}');
      expect(made.journal.listJobs().map((j) => j.id)).toEqual(['a', 'c']);
      other.close();
    });

    it('commits a chunk once: a second commit of the same chunk reports a duplicate', () => {
      const { journal } = make();
      journal.createJob(job('a'));
      const row = { jobId: 'a', index: 3, span: 1, attempt: 1, worker: 'w', summary: { c: 5 }, output: new Uint8Array([1, 2]), finishedAt: 1 };
      expect(journal.commitChunks([row, { ...row, index: 1 }])).toEqual([true, true]);
      expect(journal.commitChunks([{ ...row, summary: { c: 999 } }])).toEqual([false]);
      expect([...journal.doneSpans('a')].sort()).toEqual([[1, 1], [3, 1]]);
      const rows = [...journal.results('a', { withOutput: true })];
      expect(rows.map((r) => r.index)).toEqual([1, 3]);
      expect(rows[1]?.summary).toEqual({ c: 5 });
      expect([...(rows[1]?.output ?? [])]).toEqual([1, 2]);
    });

    it('pages results in index order from any start', () => {
      const { journal } = make();
      journal.createJob(job('a'));
      const rows = Array.from({ length: 1200 }, (_, i) => ({ jobId: 'a', index: 1199 - i, span: 1, attempt: 1, worker: 'w', summary: { i: 1199 - i }, output: null, finishedAt: 1 }));
      journal.commitChunks(rows);
      const got = [...journal.results('a', { from: 10 })].map((r) => r.index);
      expect(got).toHaveLength(1190);
      expect(got.every((v, k) => v === k + 10)).toBe(true);
    });

    it('keeps failures, quarantine and summaries', () => {
      const { journal } = make();
      journal.createJob(job('a'));
      journal.recordFailure({ jobId: 'a', index: 2, attempt: 1, worker: 'w', error: 'x', at: 1 });
      journal.quarantine({ jobId: 'a', index: 2, span: 3, error: 'failed 3 times' });
      expect(journal.failures('a')).toHaveLength(1);
      expect(journal.quarantined('a')).toEqual([{ jobId: 'a', index: 2, span: 3, error: 'failed 3 times' }]);
      journal.setJobSummary('a', { count: '12' });
      expect(journal.getJobSummary('a')).toEqual({ count: '12' });
    });

    it('commits asynchronously with the same once-only rule, durable when it resolves', async () => {
      const { journal } = make();
      journal.createJob(job('a'));
      const row = { jobId: 'a', index: 4, span: 2, attempt: 1, worker: 'w', summary: { c: 1 }, output: new Uint8Array([7]), finishedAt: 1 };
      const first = journal.commitChunksAsync([row, { ...row, index: 0, span: 1 }]);
      expect(first).toBeInstanceOf(Promise);
      expect(await first).toEqual([true, true]);
      expect(await journal.commitChunksAsync([{ ...row, summary: { c: 2 } }, { ...row, index: 6, span: 1 }])).toEqual([false, true]);
      expect(journal.commitChunks([{ ...row, index: 6, span: 1 }])).toEqual([false]);
      const rows = [...journal.results('a', { withOutput: true })];
      expect(rows.map((r) => [r.index, r.span])).toEqual([[0, 1], [4, 2], [6, 1]]);
      expect(rows[1]?.summary).toEqual({ c: 1 });
      expect([...(rows[1]?.output ?? [])]).toEqual([7]);
    });

    it('takes a chunk out of quarantine when a result for it is committed (sync or async)', async () => {
      const { journal } = make();
      journal.createJob(job('a'));
      journal.quarantine({ jobId: 'a', index: 2, span: 1, error: 'failed 3 times' });
      journal.quarantine({ jobId: 'a', index: 5, span: 1, error: 'failed 3 times' });
      const row = { jobId: 'a', index: 2, span: 1, attempt: 4, worker: 'w', summary: {}, output: null, finishedAt: 1 };
      expect(journal.commitChunks([row])).toEqual([true]);
      expect(journal.quarantined('a').map((q) => q.index)).toEqual([5]);
      expect(await journal.commitChunksAsync([{ ...row, index: 5 }])).toEqual([true]);
      expect(journal.quarantined('a')).toEqual([]);
    });

    it("takes result rows back (a caught liar's), and keeps workers' standings until cleared", () => {
      const made = make();
      const journal = made.journal;
      journal.createJob(job('a'));
      const row = { jobId: 'a', index: 0, span: 1, attempt: 1, worker: 'liar', summary: { c: 1 }, output: new Uint8Array([1, 2]), finishedAt: 1 };
      journal.commitChunks([row, { ...row, index: 1, worker: 'h' }, { ...row, index: 2 }]);
      journal.uncommitChunks('a', [0, 2, 5]);
      expect([...journal.doneSpans('a')]).toEqual([[1, 1]]);
      expect([...journal.results('a', { withOutput: true })].map((r) => r.index)).toEqual([1]);
      // a chunk taken back commits again
      expect(journal.commitChunks([{ ...row, worker: 'h2', summary: { c: 2 } }])).toEqual([true]);
      expect([...journal.results('a')].map((r) => [r.index, r.worker])).toEqual([[0, 'h2'], [1, 'h']]);
      journal.setWorkerStanding({ worker: 'liar', strikes: 2, suspect: true });
      journal.setWorkerStanding({ worker: 'other', strikes: 1, suspect: true });
      journal.setWorkerStanding({ worker: 'other', strikes: 0, suspect: false });
      expect(journal.workerStandings()).toEqual([{ worker: 'liar', strikes: 2, suspect: true }]);
      if (made.reopen) {
        journal.close();
        const again = made.reopen();
        expect(again.workerStandings()).toEqual([{ worker: 'liar', strikes: 2, suspect: true }]);
        again.close();
      }
    });

    it('survives a reopen', () => {
      const made = make();
      if (!made.reopen) return;
      made.journal.createJob(job('a'));
      made.journal.commitChunks([{ jobId: 'a', index: 0, span: 2, attempt: 1, worker: 'w', summary: {}, output: null, finishedAt: 1 }]);
      made.journal.close();
      const again = made.reopen();
      expect(again.getJob('a')?.id).toBe('a');
      expect([...again.doneSpans('a')]).toEqual([[0, 2]]);
      again.close();
    });
  });
}
