import { describe, expect, it } from 'vitest';
import { IdConflictError, InputError } from '../core/index.js';
import { info, recorder, testHead } from './head.fixture.js';

describe('idempotent submit (issue 18)', () => {
  it('answers the job already under an id when the request is the same, whatever its state', () => {
    const { head, journal } = testHead();
    const first = head.submitOnce({ task: 'primes', start: '1', end: '1e6', params: {} }, 'j1');
    expect(first.existing).toBe(false);
    const again = head.submitOnce({ task: 'primes', start: 1, end: '1_000_000', params: { list: false } }, 'j1');
    expect(again).toMatchObject({ existing: true, job: { id: 'j1', seq: first.job.seq } });
    head.cancel('j1');
    expect(head.submitOnce({ task: 'primes', start: '1', end: '1000000' }, 'j1')).toMatchObject({ existing: true, job: { state: 'cancelled' } });
    expect(journal.listJobs()).toHaveLength(1);
  });

  it('matches the request, not the plan: a retry after more workers joined finds the job', () => {
    const { head } = testHead();
    const first = head.submitOnce({ task: 'primes', start: 1, end: '1e12' }, 'big');
    head.sessions.join(info('w', 64), recorder()); // the chunk size the head would pick now differs
    const again = head.submitOnce({ task: 'primes', start: 1, end: '1e12' }, 'big');
    expect(again.existing).toBe(true);
    expect(again.job.chunk).toBe(first.job.chunk);
  });

  it('refuses the id with other settings, naming the first that differs', () => {
    const { head, journal } = testHead();
    head.submitOnce({ task: 'primes', start: 1, end: 1000, chunk: 100 }, 'j2');
    const clash = (input: Parameters<typeof head.submitOnce>[0]): unknown => {
      try {
        head.submitOnce(input, 'j2');
      } catch (err) {
        return err;
      }
      return null;
    };
    const e = clash({ task: 'primes', start: 1, end: 2000, chunk: 100 });
    expect(e).toBeInstanceOf(IdConflictError);
    expect(e).toMatchObject({ field: '--end', code: 'ID_CONFLICT', message: 'job j2 exists with other settings: --end differs: 1000 vs 2000 (a new job needs a new id)' });
    expect(clash({ task: 'primes', start: 1, end: 1000 })).toMatchObject({ field: '--chunk', message: /--chunk differs: 100 vs \(none\)/ });
    expect(clash({ task: 'primes', start: 1, end: 1000, chunk: 100, params: { list: true } })).toMatchObject({ field: '--list', message: /--list differs: false vs true/ });
    expect(clash({ task: 'collatz', start: 1, end: 1000, chunk: 100 })).toMatchObject({ field: 'task', message: /task differs: primes vs collatz/ });
    expect(journal.listJobs().map((j) => [j.id, j.end])).toEqual([['j2', 1000n]]);
  });

  it('keeps a long parameter (a Life pattern) in the request as its hash, and still tells patterns apart', () => {
    const { head, journal } = testHead();
    const rle = (n: number): string => `x = ${2 * n}, y = 1, rule = B3/S23\n${'bo'.repeat(n)}!\n`;
    const first = head.submitOnce({ task: 'life', params: { size: '800x10', generations: 2, pattern: rle(300) } }, 'glider');
    const stored = journal.getJob('glider')?.request ?? '';
    expect(stored).toMatch(/"--pattern":"sha256:[0-9a-f]{64}"/);
    expect(stored.length).toBeLessThan(600);
    expect(head.submitOnce({ task: 'life', params: { size: '800x10', generations: 2, pattern: rle(300) } }, 'glider')).toMatchObject({ existing: true, job: { seq: first.job.seq } });
    expect(() => head.submitOnce({ task: 'life', params: { size: '800x10', generations: 2, pattern: rle(301) } }, 'glider')).toThrow(/--pattern differs: sha256:/);
  });

  it('checks the id before anything else and still makes a fresh id when none is given', () => {
    const { head } = testHead();
    expect(() => head.submitOnce({ task: 'primes', start: 1, end: 10 }, 'Bad Id')).toThrow(InputError);
    const a = head.submitOnce({ task: 'primes', start: 1, end: 10 });
    const b = head.submitOnce({ task: 'primes', start: 1, end: 10 });
    expect(a.job.id).not.toBe(b.job.id);
    expect([a.existing, b.existing]).toEqual([false, false]);
  });
});

describe('a job journaled before idempotent submits', () => {
  it('refuses its id: with no recorded settings, a repeat cannot be told from a clash', () => {
    const { head, journal } = testHead();
    const job = head.submitOnce({ task: 'primes', start: 1, end: 10 }, 'old').job;
    journal.createJob({ ...job, id: 'older', request: undefined });
    expect(() => head.submitOnce({ task: 'primes', start: 1, end: 10 }, 'older')).toThrow(
      'job older exists, and its settings were not recorded (it predates idempotent submits): a new job needs a new id',
    );
  });
});
