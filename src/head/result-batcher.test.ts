import { describe, expect, it } from 'vitest';
import { ManualClock } from '../core/index.js';
import { info, recorder, testHead } from './head.fixture.js';

const settle = async (): Promise<void> => {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
};

describe('ResultBatcher (group commit)', () => {
  it('commits the results that arrive together in one journal call, one ack per sink', async () => {
    const { head, journal } = testHead();
    let calls = 0;
    const commit = journal.commitChunksAsync.bind(journal);
    journal.commitChunksAsync = (rows) => {
      calls++;
      return commit(rows);
    };
    const job = head.submit({ task: 'noop', params: { chunks: 6 } });
    const a = recorder();
    const b = recorder();
    const sa = head.sessions.join(info('a', 3), a);
    const sb = head.sessions.join(info('b', 3), b);
    for (const s of [sa, sb]) for (const l of s.lease(3)) s.result({ token: l.token, jobId: l.jobId, index: l.index, span: l.span, summary: {}, output: null });
    await settle();
    expect(calls).toBe(1);
    expect(a.acks.map((t) => t.length)).toEqual([3]);
    expect(b.acks.map((t) => t.length)).toEqual([3]);
    expect(head.status(job.id).state).toBe('done');
    expect(head.result(job.id)).toMatchObject({ chunks: '6', state: 'done' });
  });

  it('forms the next batch from results that arrive while a commit is in flight', async () => {
    const { head, journal } = testHead();
    const batches: number[] = [];
    let release: (() => void) | null = null;
    const commit = journal.commitChunksAsync.bind(journal);
    journal.commitChunksAsync = async (rows) => {
      batches.push(rows.length);
      if (batches.length === 1) await new Promise<void>((r) => (release = r));
      return commit(rows);
    };
    head.submit({ task: 'noop', params: { chunks: 5 } });
    const h = recorder();
    const s = head.sessions.join(info('w', 5), h);
    const ls = s.lease(5);
    const send = (k: number): void => {
      const l = ls[k];
      if (l) s.result({ token: l.token, jobId: l.jobId, index: l.index, span: l.span, summary: {}, output: null });
    };
    send(0);
    await settle();
    expect(head.batcher.committing).toBe(true);
    for (const k of [1, 2, 3, 4]) send(k);
    await settle();
    expect(batches).toEqual([1]); // one commit in flight at a time
    (release as unknown as () => void)();
    await settle();
    expect(batches).toEqual([1, 4]);
    expect(h.acks.map((t) => t.length)).toEqual([1, 4]);
  });

  it('rejects a result its task refuses, and acknowledges nothing it could not commit', async () => {
    const { head, journal, fatal } = testHead(new ManualClock(5));
    head.submit({ task: 'noop', params: { chunks: 3 } });
    const h = recorder();
    const s = head.sessions.join(info('w', 3), h);
    const [l0, l1] = s.lease(3);
    if (!l0 || !l1) throw new Error('no lease');
    s.result({ token: l0.token, jobId: l0.jobId, index: l0.index, span: l0.span, summary: 'not an object', output: null });
    await settle();
    expect(h.rejected).toHaveLength(1);
    expect(head.counters.badMessages).toBe(1);
    journal.commitChunksAsync = () => Promise.reject(new Error('disk full'));
    s.result({ token: l1.token, jobId: l1.jobId, index: l1.index, span: l1.span, summary: {}, output: null });
    await settle();
    expect(fatal.map((e) => (e as Error).message)).toEqual(['disk full']);
    expect(h.acks).toEqual([]);
    expect(head.batcher.committing).toBe(true); // stays stopped
  });
});
