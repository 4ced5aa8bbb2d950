import { describe, expect, it } from 'vitest';
import { info, recorder, testHead } from './head.fixture.js';

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('WorkerSessions (the session port)', () => {
  it('acknowledges a result only after the group commit, and frees its place at once', async () => {
    const { head, journal } = testHead();
    const job = head.submit({ task: 'noop', params: { chunks: 10 } });
    const h = recorder();
    const s = head.sessions.join(info('w1', 4), h);
    expect(head.node('w1')?.state).toBe('ready');
    const leased = s.lease(4);
    expect(leased).toHaveLength(4);
    expect(head.busy('w1')).toBe(4);
    for (const a of leased.slice(0, 3)) s.result({ token: a.token, jobId: a.jobId, index: a.index, span: a.span, summary: {}, output: null });
    expect(head.busy('w1')).toBe(1); // places free before the commit
    expect(h.acks).toEqual([]);
    expect([...journal.results(job.id)]).toHaveLength(0);
    await settle();
    await settle();
    expect(h.acks).toEqual([leased.slice(0, 3).map((a) => a.token)]); // one ack for the batch
    expect([...journal.results(job.id)].map((r) => r.index)).toEqual([0, 1, 2]);
    expect(head.counters.ackFrames).toBe(1);
  });

  it('returns the leases of a lost session as failed attempts, of a drained one without', () => {
    const { head } = testHead();
    const job = head.submit({ task: 'noop', params: { chunks: 4 } });
    const lost = head.sessions.join(info('lost', 2), recorder());
    lost.lease(2);
    expect(lost.leave('lost')).toBe(2);
    expect(head.node('lost')).toMatchObject({ state: 'stale', connected: false });
    const drained = head.sessions.join(info('drained', 2), recorder());
    const again = drained.lease(2);
    expect(again.map((a) => a.attempt)).toEqual([2, 2]);
    expect(drained.leave('drained')).toBe(2);
    expect(head.node('drained')).toMatchObject({ state: 'gone', connected: false });
    expect(head.counts(job.id)).toMatchObject({ leased: 0, pending: 4 });
    expect(drained.leave('drained')).toBe(0); // leaving twice changes nothing
  });

  it('replaces an older session of the same worker and returns its leases', () => {
    const { head } = testHead();
    head.submit({ task: 'noop', params: { chunks: 4 } });
    const first = recorder();
    head.sessions.join(info('w', 2), first).lease(2);
    const second = head.sessions.join(info('w', 2), recorder());
    expect(first.replacedCount).toBe(1);
    expect(head.busy('w')).toBe(0);
    expect(second.lease(2)).toHaveLength(2);
  });

  it('sends a revoke to the holder that lost a chunk to a cancel', () => {
    const { head } = testHead();
    const job = head.submit({ task: 'noop', params: { chunks: 2 } });
    const h = recorder();
    const tokens = head.sessions.join(info('w', 2), h).lease(2).map((a) => a.token);
    head.cancel(job.id);
    expect(h.revoked.flat().sort()).toEqual(tokens.sort());
  });

  it('holds a hot node to --hot-slots', () => {
    const { head } = testHead();
    const s = head.sessions.join(info('pi', 4), recorder());
    expect(head.isHot('pi')).toBe(false);
    s.report({ temp: 85 });
    expect(head.isHot('pi')).toBe(true);
    s.report({ temp: 50, throttled: 0x4 });
    expect(head.isHot('pi')).toBe(true);
  });
});
