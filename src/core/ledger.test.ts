import { describe, expect, it } from 'vitest';
import { MemoryJournal } from './memory-journal.js';
import { ManualClock } from './clock.js';
import type { LedgerEvent, LeaseSigner } from './ledger.js';
import { FIRST_HOLD, HOLD_MS, Ledger, MAX_STRIKES, OVERDUE_FACTOR, OVERDUE_MIN_MS, QUEUE_CREDIT } from './ledger.js';

/** A signer that tests can read: `job:index:attempt:n`. */
class TestSigner implements LeaseSigner {
  private n = 0;
  signRun(jobId: string, first: number, span: number, attempt: number, count: number): string[] {
    return Array.from({ length: count }, (_, k) => `${jobId}:${first + k * span}:${span}:${attempt}:${++this.n}`);
  }
  verify(token: string, jobId: string, index: number, span: number): boolean {
    return token.startsWith(`${jobId}:${index}:${span}:`);
  }
}

function setup(chunks = 4, opts: { leaseMs?: number; maxAttempts?: number; speculate?: boolean } = {}) {
  const clock = new ManualClock(1000);
  const journal = new MemoryJournal();
  const ledger = new Ledger({ clock, journal, signer: new TestSigner(), leaseMs: opts.leaseMs ?? 1000, speculate: opts.speculate ?? false });
  const events: LedgerEvent[] = [];
  ledger.on((e) => events.push(e));
  ledger.submit({ id: 'j', task: 'noop', params: {}, start: 0n, end: BigInt(chunks - 1), chunk: 1n, chunks, chunkMs: null, priority: 0, maxAttempts: opts.maxAttempts ?? 3 });
  return { clock, journal, ledger, events };
}

const done = (token: string, index: number, worker = 'w1', span = 1, ms?: number) => ({ token, jobId: 'j', index, span, worker, summary: {}, output: null, ms });

describe('Ledger', () => {
  it('gives out each chunk once, in index order, and finishes the job when all are done', () => {
    const { ledger } = setup(3);
    ledger.registerWorker('w1');
    const a = ledger.lease('w1', 5);
    expect(a.map((x) => x.index)).toEqual([0, 1, 2]);
    expect(ledger.getJob('j').state).toBe('running');
    expect(ledger.complete(a.map((x) => done(x.token, x.index)))).toEqual(['accepted', 'accepted', 'accepted']);
    expect(ledger.getJob('j').state).toBe('done');
  });

  it('returns an expired lease to the queue at its deadline and drops the late result of the first holder', () => {
    const { ledger, clock, events } = setup(1);
    ledger.registerWorker('w1');
    ledger.registerWorker('w2');
    const [first] = ledger.lease('w1', 1);
    clock.advance(999);
    expect(ledger.expire()).toHaveLength(0);
    clock.advance(1);
    expect(ledger.expire()).toHaveLength(1);
    expect(events.some((e) => e.type === 'lease-expired')).toBe(true);
    const [second] = ledger.lease('w2', 1);
    expect(second?.index).toBe(0);
    expect(second?.attempt).toBe(2);
    expect(ledger.complete([done(second!.token, 0, 'w2')])).toEqual(['accepted']);
    expect(ledger.complete([done(first!.token, 0, 'w1')])).toEqual(['duplicate']);
    expect(ledger.stats.duplicates).toBe(1);
  });

  it('gives a worker that let a lease expire nothing more until it is heard from again', () => {
    const { ledger, clock } = setup(2);
    ledger.registerWorker('w1');
    const [a] = ledger.lease('w1', 1);
    clock.advance(1000);
    expect(ledger.expire()).toHaveLength(1);
    // frozen but still connected: the expired chunk must not go straight back to it
    expect(ledger.lease('w1', 2)).toEqual([]);
    ledger.heartbeat('w1');
    expect(ledger.lease('w1', 2).map((x) => x.index).sort()).toEqual([0, 1]);
    // a late result also counts as being heard from
    clock.advance(1000);
    ledger.expire();
    expect(ledger.lease('w1', 1)).toEqual([]);
    ledger.complete([done(a!.token, 0)]);
    expect(ledger.lease('w1', 1).length).toBe(1);
  });

  it('heartbeats extend leases', () => {
    const { ledger, clock } = setup(1);
    ledger.registerWorker('w1');
    ledger.lease('w1', 1);
    for (let i = 0; i < 5; i++) {
      clock.advance(800);
      ledger.heartbeat('w1');
      expect(ledger.expire()).toHaveLength(0);
    }
  });

  it('accepts a late result of an expired lease if the chunk is not done yet (genuine token)', () => {
    const { ledger, clock } = setup(1);
    ledger.registerWorker('w1');
    const [a] = ledger.lease('w1', 1);
    clock.advance(2000);
    ledger.expire();
    expect(ledger.complete([done(a!.token, 0)])).toEqual(['accepted']);
  });

  it('rejects a stale or forged token', () => {
    const { ledger } = setup(2);
    ledger.registerWorker('w1');
    const [a] = ledger.lease('w1', 1);
    expect(ledger.complete([{ ...done(a!.token, 1) }])).toEqual(['rejected']);
    expect(ledger.complete([done('forged', 0)])).toEqual(['rejected']);
    expect(ledger.counts('j').done).toBe(0);
  });

  it('stores a result sent twice in one batch once', () => {
    const { ledger, journal } = setup(2);
    ledger.registerWorker('w1');
    const [a] = ledger.lease('w1', 1);
    expect(ledger.complete([done(a!.token, 0), done(a!.token, 0)])).toEqual(['accepted', 'duplicate']);
    expect([...journal.results('j')]).toHaveLength(1);
  });

  it('returns a lost worker’s leases at once and counts them as attempts', () => {
    const { ledger } = setup(2);
    ledger.registerWorker('w1');
    ledger.registerWorker('w2');
    ledger.lease('w1', 2);
    expect(ledger.lease('w2', 2)).toHaveLength(0);
    expect(ledger.releaseWorker('w1', 'lost')).toHaveLength(2);
    expect(ledger.lease('w2', 2).map((a) => a.index)).toEqual([0, 1]);
  });

  it('quarantines a chunk after maxAttempts failures on different workers and finishes the job as failed', () => {
    const { ledger, events } = setup(2, { maxAttempts: 3 });
    for (const w of ['w1', 'w2', 'w3']) ledger.registerWorker(w);
    const [c0, c1] = ledger.lease('w1', 2);
    expect(ledger.complete([done(c1!.token, 1)])).toEqual(['accepted']);
    ledger.fail('w1', c0!.token, 'boom 1');
    // w1 already failed chunk 0: with other workers around it goes to them
    expect(ledger.lease('w1', 1)).toHaveLength(0);
    const [x] = ledger.lease('w2', 1);
    ledger.fail('w2', x!.token, 'boom 2');
    const [y] = ledger.lease('w3', 1);
    ledger.fail('w3', y!.token, 'boom 3');
    expect(events.some((e) => e.type === 'chunk-quarantined' && e.index === 0)).toBe(true);
    const job = ledger.getJob('j');
    expect(job.state).toBe('failed');
    expect(job.error).toMatch(/quarantined: 0/);
    expect(ledger.quarantinedChunks('j')[0]?.error).toMatch(/failed 3 times on 3 worker\(s\); last error: boom 3/);
  });

  it('gives a failed chunk back to the only worker, a head-side helper (the Life coordinator) registered beside it', () => {
    const { ledger } = setup(2, { maxAttempts: 3 });
    ledger.registerWorker('w1');
    ledger.registerWorker('life-coordinator', 1, { helper: true });
    const [c0, c1] = ledger.lease('w1', 2);
    ledger.fail('w1', c0!.token, 'slot thread exited');
    expect(ledger.complete([done(c1!.token, 1)])).toEqual(['accepted']);
    const [again] = ledger.lease('w1', 1);
    expect(again?.index).toBe(0);
    expect(again?.attempt).toBe(2);
    expect(ledger.complete([done(again!.token, 0)])).toEqual(['accepted']);
    expect(ledger.getJob('j').state).toBe('done');
  });

  it('a head-side helper (the Life coordinator) takes its own retries, so its job fails after maxAttempts with several workers connected', () => {
    const { ledger } = setup(1, { maxAttempts: 3 });
    ledger.registerWorker('w1');
    ledger.registerWorker('w2');
    ledger.registerWorker('life-coordinator', 1, { helper: true });
    for (let attempt = 1; attempt <= 3; attempt++) {
      const [l] = ledger.lease('life-coordinator', 1, (j) => j.id === 'j');
      expect(l?.attempt, `attempt ${attempt}`).toBe(attempt);
      ledger.fail('life-coordinator', l!.token, `pattern gone ${attempt}`);
    }
    expect(ledger.getJob('j').state).toBe('failed');
    expect(ledger.quarantinedChunks('j')[0]?.error).toMatch(/failed 3 times on 1 worker\(s\); last error: pattern gone 3/);
  });

  it('cancel revokes every lease and drops later results', () => {
    const { ledger, events } = setup(3);
    ledger.registerWorker('w1');
    const a = ledger.lease('w1', 3);
    ledger.cancel('j');
    expect(events.filter((e) => e.type === 'revoke').flatMap((e) => (e.type === 'revoke' ? e.tokens : []))).toHaveLength(3);
    expect(ledger.complete([done(a[0]!.token, 0)])).toEqual(['rejected']);
    expect(ledger.getJob('j').state).toBe('cancelled');
    expect(ledger.lease('w1', 3)).toHaveLength(0);
  });

  it('runs higher priority first, then FIFO', () => {
    const { ledger } = setup(2);
    ledger.submit({ id: 'hi', task: 'noop', params: {}, start: 0n, end: 0n, chunk: 1n, chunks: 1, chunkMs: null, priority: 5, maxAttempts: 3 });
    ledger.registerWorker('w1');
    expect(ledger.lease('w1', 3).map((a) => `${a.jobId}:${a.index}`)).toEqual(['hi:0', 'j:0', 'j:1']);
  });

  it('speculates a backup copy of a straggler at the tail; first result wins and the loser is revoked', () => {
    const { ledger, clock, events } = setup(5, { speculate: true, leaseMs: 60_000 });
    ledger.registerWorker('w1', 2);
    ledger.registerWorker('w2');
    const a = ledger.lease('w1', 5);
    clock.advance(100);
    ledger.complete(a.slice(0, 4).map((x) => done(x.token, x.index)));
    expect(ledger.lease('w2', 1)).toHaveLength(0); // not yet a straggler
    clock.advance(1000);
    const [backup] = ledger.lease('w2', 1);
    expect(backup?.index).toBe(4);
    expect(backup?.backup).toBe(true);
    expect(ledger.complete([done(backup!.token, 4, 'w2')])).toEqual(['accepted']);
    expect(events.some((e) => e.type === 'revoke' && e.worker === 'w1' && e.tokens[0] === a[4]!.token)).toBe(true);
    expect(ledger.complete([done(a[4]!.token, 4)])).toEqual(['duplicate']);
  });

  it('rebuilds unfinished jobs from the journal after a restart', () => {
    const { ledger, journal, clock } = setup(4);
    ledger.registerWorker('w1');
    const a = ledger.lease('w1', 2);
    ledger.complete([done(a[1]!.token, 1)]);
    const again = new Ledger({ clock, journal, signer: new TestSigner(), leaseMs: 1000, speculate: false });
    again.registerWorker('w2');
    expect(again.counts('j')).toMatchObject({ total: 4, done: 1 });
    expect(again.lease('w2', 4).map((x) => x.index)).toEqual([0, 2, 3]);
    // the result of a lease given out before the restart is still accepted (its token verifies)
    expect(again.complete([done(a[0]!.token, 0)])).toEqual(['accepted']);
  });

  it('with an async commit, a chunk being committed is neither re-leased, expired into a failure, nor accepted twice', async () => {
    const clock = new ManualClock(0);
    const journal = new MemoryJournal();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const slow = Object.assign(journal, {
      commitChunksAsync: async (rows: Parameters<MemoryJournal['commitChunks']>[0]) => {
        await gate;
        return journal.commitChunks(rows);
      },
    });
    const ledger = new Ledger({ clock, journal: slow, signer: new TestSigner(), leaseMs: 100, speculate: false });
    ledger.submit({ id: 'j', task: 'noop', params: {}, start: 0n, end: 0n, chunk: 1n, chunks: 1, chunkMs: null, priority: 0, maxAttempts: 1 });
    ledger.registerWorker('w1');
    ledger.registerWorker('w2');
    const [a] = ledger.lease('w1', 1);
    const first = ledger.completeAsync([done(a!.token, 0)]);
    expect(ledger.complete([done(a!.token, 0)])).toEqual(['duplicate']);
    clock.advance(1000);
    ledger.expire(); // would quarantine (maxAttempts 1) if the in-flight chunk counted as failed
    expect(ledger.lease('w2', 1)).toHaveLength(0);
    release();
    expect(await first).toEqual(['accepted']);
    expect(ledger.getJob('j').state).toBe('done');
  });

  it('sizes leases by time: one chunk first, then spans grown toward chunkMs from each worker’s measured speed', () => {
    const clock = new ManualClock(0);
    const journal = new MemoryJournal();
    const ledger = new Ledger({ clock, journal, signer: new TestSigner(), leaseMs: 60_000, speculate: false });
    ledger.submit({ id: 'j', task: 'noop', params: {}, start: 0n, end: 9999n, chunk: 1n, chunks: 10_000, chunkMs: 2000, priority: 0, maxAttempts: 3 });
    ledger.registerWorker('fast');
    ledger.registerWorker('slow');
    const [f1] = ledger.lease('fast', 1);
    const [s1] = ledger.lease('slow', 1);
    expect([f1!.span, s1!.span]).toEqual([1, 1]);
    ledger.complete([done(f1!.token, f1!.index, 'fast', 1, 10), done(s1!.token, s1!.index, 'slow', 1, 500)]);
    const [f2] = ledger.lease('fast', 1);
    const [s2] = ledger.lease('slow', 1);
    expect(f2!.span).toBe(4); // 2000 ms / 10 ms = 200, grown at most 4x a step
    expect(s2!.span).toBe(4); // 2000 ms / 500 ms = 4
    expect(f2!.end - f2!.start + 1n).toBe(4n);
    ledger.complete([done(f2!.token, f2!.index, 'fast', 4, 40), done(s2!.token, s2!.index, 'slow', 4, 2000)]);
    const [f3] = ledger.lease('fast', 1);
    const [s3] = ledger.lease('slow', 1);
    expect(f3!.span).toBe(16);
    expect(s3!.span).toBe(4);
    // spans tile the job: every chunk done once, counted in chunks
    expect(ledger.complete([done(f3!.token, f3!.index, 'fast', 16, 160), done(s3!.token, s3!.index, 'slow', 4, 2000)])).toEqual(['accepted', 'accepted']);
    expect(ledger.counts('j')).toMatchObject({ total: 10_000, done: 1 + 1 + 4 + 4 + 16 + 4 });
    // a span's token does not verify for another span size
    expect(ledger.complete([done(f3!.token, f3!.index, 'fast', 15)])).toEqual(['rejected']);
    let guard = 0;
    while (ledger.getJob('j').state !== 'done' && guard++ < 10_000) {
      const [a] = ledger.lease('fast', 1);
      ledger.complete([done(a!.token, a!.index, 'fast', a!.span, a!.span * 10)]);
    }
    expect(ledger.getJob('j').state).toBe('done');
    const rows = [...journal.results('j')];
    expect(rows.reduce((n, r) => n + r.span, 0)).toBe(10_000);
    expect(rows.every((r, k) => k === 0 || r.index === rows[k - 1]!.index + rows[k - 1]!.span)).toBe(true);
  });

  it("shares a job's tail among the workers' slots, not a head-side helper's (the Life coordinator)", () => {
    const clock = new ManualClock(0);
    const ledger = new Ledger({ clock, journal: new MemoryJournal(), signer: new TestSigner(), leaseMs: 60_000, speculate: false });
    ledger.submit({ id: 'j', task: 'noop', params: {}, start: 0n, end: 59n, chunk: 1n, chunks: 60, chunkMs: 2000, priority: 0, maxAttempts: 3 });
    ledger.registerWorker('helper', 1, { helper: true });
    ledger.registerWorker('w', 2);
    const [a] = ledger.lease('w', 1);
    ledger.complete([done(a!.token, a!.index, 'w', 1, 1)]);
    // 2000 ms a chunk of 1 ms: as many as the tail allows, at least 3 leases for each of w's 2 slots
    // in the 59 chunks left: 59 / 6 = 9 (counting the helper's slot too it was 59 / 9 = 6)
    const [b] = ledger.lease('w', 1);
    expect(b!.span).toBe(4); // grown at most 4x a step
    ledger.complete([done(b!.token, b!.index, 'w', 4, 4)]);
    const [c] = ledger.lease('w', 1);
    expect(c!.span).toBe(Math.floor(55 / 6));
    // a helper leaving changes nothing; a worker leaving shrinks the share
    ledger.releaseWorker('helper', 'drained');
    ledger.complete([done(c!.token, c!.index, 'w', c!.span, c!.span)]);
    const [d] = ledger.lease('w', 1);
    expect(d!.span).toBe(Math.floor((55 - c!.span) / 6));
  });

  it('bounds a hoarder by slots, then by its own measured speed (issue 17, item 18)', () => {
    const { ledger, clock } = setup(1000, { speculate: true, leaseMs: 60_000 });
    ledger.registerWorker('hoarder', 1);
    ledger.registerWorker('fast', 2);
    // before any result: FIRST_HOLD (or 4 a slot, if more), whatever window it asks for
    expect(ledger.lease('hoarder', 1024)).toHaveLength(FIRST_HOLD);
    expect(ledger.lease('hoarder', 1024)).toHaveLength(0);
    const f = ledger.lease('fast', 1024);
    expect(f).toHaveLength(FIRST_HOLD);
    // the fast worker reports 10 ms a chunk: it may hold HOLD_MS of work per slot
    clock.advance(10);
    ledger.complete(f.map((x) => done(x.token, x.index, 'fast', 1, 10)));
    expect(ledger.heldBy('fast')).toBe(0);
    expect(ledger.lease('fast', 1024)).toHaveLength(2 * Math.ceil(HOLD_MS / 10));
  });

  it('backs up a lease far past its holder\'s expected time at any point of the job, not only at the tail', () => {
    const { ledger, clock } = setup(1000, { speculate: true, leaseMs: 60_000 });
    ledger.registerWorker('hoarder', 1);
    ledger.registerWorker('honest', 1);
    const held = ledger.lease('hoarder', 4);
    expect(held.map((x) => x.index)).toEqual([0, 1, 2, 3]);
    // the honest worker's chunks take 10 ms; the job's median is known after 3
    for (let k = 0; k < 5; k++) {
      const [a] = ledger.lease('honest', 1);
      clock.advance(10);
      ledger.complete([done(a!.token, a!.index, 'honest', 1, 10)]);
    }
    // mid-job (995 chunks still fresh), the hoarder's leases are not overdue yet: 4 queued on one slot,
    // 10 ms each (the job's median), so OVERDUE_MIN_MS + OVERDUE_FACTOR x 4 x 10 ms (it has run 50 ms)
    const limit = OVERDUE_MIN_MS + OVERDUE_FACTOR * Math.min(4, QUEUE_CREDIT) * 10;
    clock.advance(limit - 50 - 10);
    expect(ledger.lease('honest', 1).map((x) => x.backup)).toEqual([false]);
    // ... and past it, each gets a backup, the oldest first
    clock.advance(300);
    const backups = ledger.lease('honest', 4);
    expect(backups.map((x) => [x.index, x.backup])).toEqual([[0, true], [1, true], [2, true], [3, true]]);
    expect(ledger.stats.overdueBackups).toBe(4);
    // the first result wins; the hoarder's copies are dropped
    ledger.complete(backups.map((x) => done(x.token, x.index, 'honest', 1, 10)));
    expect(ledger.heldBy('hoarder')).toBe(0);
  });

  it('--replicas 2: a chunk commits when two workers agree; a third decides a disagreement; the liar is struck (issue 17, item 17)', () => {
    const clock = new ManualClock(1000);
    const journal = new MemoryJournal();
    const ledger = new Ledger({ clock, journal, signer: new TestSigner(), leaseMs: 60_000, speculate: false });
    const events: LedgerEvent[] = [];
    ledger.on((e) => events.push(e));
    ledger.submit({ id: 'j', task: 'noop', params: {}, start: 0n, end: 1n, chunk: 1n, chunks: 2, chunkMs: null, priority: 0, maxAttempts: 3, replicas: 2 });
    for (const w of ['a', 'b', 'liar']) ledger.registerWorker(w);
    const val = (token: string, index: number, worker: string, n: number) => ({ token, jobId: 'j', index, span: 1, worker, summary: { n }, output: null });
    const [a0] = ledger.lease('a', 1);
    expect(ledger.complete([val(a0!.token, 0, 'a', 7)])).toEqual(['voted']);
    // the same worker never gets a second copy; another does
    expect(ledger.lease('a', 1).map((x) => x.index)).toEqual([1]);
    const [l0] = ledger.lease('liar', 1);
    expect(l0?.index).toBe(0);
    expect(ledger.complete([val(l0!.token, 0, 'liar', 8)])).toEqual(['voted']);
    expect(ledger.counts('j').done).toBe(0);
    const [b0] = ledger.lease('b', 1);
    expect(b0?.index).toBe(0);
    expect(ledger.complete([val(b0!.token, 0, 'b', 7)])).toEqual(['accepted']);
    expect([...journal.results('j', { withOutput: false })].map((r) => [r.index, r.summary, r.worker])).toEqual([[0, { n: 7 }, 'b']]);
    expect(events.filter((e) => e.type === 'disagreement').map((e) => e.type === 'disagreement' && [e.worker, e.majority.sort()])).toEqual([['liar', ['a', 'b']]]);
    expect(ledger.standing('liar')).toEqual({ suspect: true, strikes: 1, barred: false });
    expect(ledger.standing('a')).toEqual({ suspect: false, strikes: 0, barred: false });
  });

  it('--verify draws chunks to compare; a suspect is always compared; MAX_STRIKES bars it until cleared', () => {
    const clock = new ManualClock(1000);
    const journal = new MemoryJournal();
    let draw = 0; // under 10: drawn for --verify 10
    const ledger = new Ledger({ clock, journal, signer: new TestSigner(), leaseMs: 60_000, speculate: false, random: () => draw });
    ledger.submit({ id: 'j', task: 'noop', params: {}, start: 0n, end: 99n, chunk: 1n, chunks: 100, chunkMs: null, priority: 0, maxAttempts: 3, verify: 10 });
    for (const w of ['h1', 'h2', 'liar']) ledger.registerWorker(w);
    const val = (token: string, index: number, worker: string, n: number) => ({ token, jobId: 'j', index, span: 1, worker, summary: { n }, output: null });
    /** The liar runs a chunk first; the honest workers run the copies until it is decided. */
    const round = (): ReturnType<Ledger['complete']>[number] => {
      const [l] = ledger.lease('liar', 1);
      const i = l!.index;
      const first = ledger.complete([val(l!.token, i, 'liar', -1)])[0]!;
      if (first !== 'voted') return first;
      for (const h of ['h1', 'h2']) {
        const [c] = ledger.lease(h, 1);
        expect(c!.index).toBe(i);
        ledger.complete([val(c!.token, i, h, i)]);
      }
      expect([...journal.results('j', { withOutput: false })].find((r) => r.index === i)?.summary).toEqual({ n: i });
      return first;
    };
    expect(round()).toBe('voted'); // drawn: caught
    expect(ledger.standing('liar')).toEqual({ suspect: true, strikes: 1, barred: false });
    draw = 0.99; // nothing drawn any more: a suspect is compared anyway
    for (let k = 1; k < MAX_STRIKES; k++) expect(round()).toBe('voted');
    expect(ledger.standing('liar')).toEqual({ suspect: true, strikes: MAX_STRIKES, barred: true });
    expect(ledger.lease('liar', 5)).toEqual([]);
    // an honest worker's first copy now commits at once (not drawn)
    const [h] = ledger.lease('h1', 1);
    expect(ledger.complete([val(h!.token, h!.index, 'h1', h!.index)])).toEqual(['accepted']);
    expect(ledger.clearWorker('liar')).toBe(true);
    expect(ledger.lease('liar', 1)).toHaveLength(1);
    expect(ledger.stats.disagreements).toBe(MAX_STRIKES);
  });

  it('a liar caught late: the results it committed in the job run again on other workers; strikes survive a restart (issue 17, item 17)', () => {
    const clock = new ManualClock(1000);
    const journal = new MemoryJournal();
    let draw = 0.99; // not drawn for --verify 10
    const ledger = new Ledger({ clock, journal, signer: new TestSigner(), leaseMs: 60_000, speculate: false, random: () => draw });
    const events: LedgerEvent[] = [];
    ledger.on((e) => events.push(e));
    ledger.submit({ id: 'j', task: 'noop', params: {}, start: 0n, end: 9n, chunk: 1n, chunks: 10, chunkMs: null, priority: 0, maxAttempts: 3, verify: 10 });
    for (const w of ['h1', 'h2', 'liar']) ledger.registerWorker(w);
    const val = (token: string, index: number, worker: string, n: number) => ({ token, jobId: 'j', index, span: 1, worker, summary: { n }, output: null });
    // the liar commits three wrong results, none drawn
    for (let k = 0; k < 3; k++) {
      const [l] = ledger.lease('liar', 1);
      expect(ledger.complete([val(l!.token, l!.index, 'liar', -1)])).toEqual(['accepted']);
    }
    expect(ledger.counts('j').done).toBe(3);
    // its fourth is drawn, and the honest copies outvote it
    draw = 0;
    const [l3] = ledger.lease('liar', 1);
    expect(ledger.complete([val(l3!.token, 3, 'liar', -1)])).toEqual(['voted']);
    for (const h of ['h1', 'h2']) {
      const [c] = ledger.lease(h, 1);
      ledger.complete([val(c!.token, c!.index, h, c!.index)]);
    }
    expect(events.filter((e) => e.type === 'recheck')).toEqual([{ type: 'recheck', jobId: 'j', worker: 'liar', chunks: 3 }]);
    // its three rows are gone and their chunks are pending again
    expect([...journal.results('j')].map((r) => [r.index, r.worker])).toEqual([[3, 'h2']]);
    expect(ledger.counts('j').done).toBe(1);
    // the honest workers run them again (the first copy of an honest worker commits: not drawn)
    draw = 0.99;
    for (let k = 0; k < 9; k++) {
      const [c] = ledger.lease('h1', 1);
      if (!c) break;
      expect(ledger.complete([val(c.token, c.index, 'h1', c.index)])).toEqual(['accepted']);
    }
    expect([...journal.results('j')].map((r) => r.summary)).toEqual(Array.from({ length: 10 }, (_, i) => ({ n: i })));
    expect(ledger.getJob('j').state).toBe('done');
    // a head restart: the liar is still suspect, with its strike
    const again = new Ledger({ clock, journal, signer: new TestSigner(), leaseMs: 60_000, speculate: false });
    expect(again.standing('liar')).toEqual({ suspect: true, strikes: 1, barred: false });
    expect(again.clearWorker('liar')).toBe(true);
    expect(new Ledger({ clock, journal, signer: new TestSigner(), leaseMs: 60_000, speculate: false }).standing('liar')).toEqual({ suspect: false, strikes: 0, barred: false });
  });

  it('summarises the chunk map without a byte per chunk, as the per-chunk states would (issue 17, item 9)', () => {
    const naive = (states: Uint8Array, cells: number): number[][] => {
      let k = Math.max(1, Math.ceil(states.length / cells));
      if (k > 8) k = Math.ceil(k / 8) * 8;
      const out: number[][] = [];
      for (let i = 0; i < states.length; i += k) {
        const c = [0, 0, 0, 0];
        for (let j = i; j < Math.min(states.length, i + k); j++) (c[states[j] as number] as number)++;
        out.push(c);
      }
      return out;
    };
    const { ledger } = setup(1003, { maxAttempts: 1 });
    ledger.registerWorker('w1', 64);
    const a = ledger.lease('w1', 700);
    ledger.complete(a.filter((x) => x.index % 3 !== 0).map((x) => done(x.token, x.index)));
    for (const x of a.filter((y) => y.index % 9 === 0)) ledger.fail('w1', x.token, 'boom');
    for (const cells of [1, 7, 64, 100, 4096]) expect(ledger.chunkCells('j', cells), `${cells} cells`).toEqual({ total: 1003, cells: naive(ledger.chunkStates('j'), cells) });
  });
});
