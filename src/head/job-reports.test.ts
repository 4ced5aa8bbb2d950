import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { InputError, ManualClock } from '../core/index.js';
import { MemoryJournal } from '../storage/index.js';
import { Head } from './head.js';
import { info, recorder, testHead } from './head.fixture.js';
import { DISK_RESERVE_BYTES, ROW_BYTES } from './job-reports.js';
import { headSettings } from './settings.js';

const settle = async (): Promise<void> => {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
};

describe('JobReports', () => {
  it('gives rate and ETA from the clock, then the folded result', async () => {
    const { head, clock } = testHead();
    const job = head.submit({ task: 'noop', params: { chunks: 20 } });
    const s = head.sessions.join(info('w', 20), recorder());
    const ls = s.lease(20);
    expect(head.status(job.id)).toMatchObject({ state: 'running', rate: null, etaSeconds: null, progress: 0 });
    for (let step = 0; step < 2; step++) {
      clock.advance(1000);
      for (const l of ls.slice(step * 5, step * 5 + 5)) s.result({ token: l.token, jobId: l.jobId, index: l.index, span: l.span, summary: {}, output: null });
      await settle();
    }
    const st = head.status(job.id);
    expect(st.chunks.done).toBe(10);
    expect(st.rate).toBe(5); // 5 chunks in the second since the first sample
    expect(st.etaSeconds).toBe(2);
    expect(st.live).toEqual({ chunks: '10' });
    expect(() => head.result(job.id)).toThrow(/is running; its result is ready when it is done/);
    for (const l of ls.slice(10)) s.result({ token: l.token, jobId: l.jobId, index: l.index, span: l.span, summary: {}, output: null });
    await settle();
    expect(head.result(job.id)).toMatchObject({ state: 'done', chunks: '20' });
    expect(head.chunkMap(job.id, 4)).toEqual({ total: 20, cells: [[0, 0, 5, 0], [0, 0, 5, 0], [0, 0, 5, 0], [0, 0, 5, 0]] });
  });

  it('streams a primes --list job in chunk order, whatever order results arrived in', async () => {
    const { head } = testHead();
    const { getTask } = await import('../tasks/index.js');
    const job = head.submit({ task: 'primes', start: 1, end: 100, chunk: 25, params: { list: true } });
    const s = head.sessions.join(info('w', 4), recorder());
    const ls = s.lease(4).reverse();
    for (const l of ls) {
      const out = getTask('primes').run({ list: true }, l.start, l.end);
      s.result({ token: l.token, jobId: l.jobId, index: l.index, span: l.span, summary: out.summary, output: out.output });
    }
    await settle();
    expect(head.result(job.id)).toMatchObject({ count: '25', state: 'done' });
    const sink = new PassThrough();
    let text = '';
    sink.on('data', (d: Buffer) => (text += d.toString()));
    await head.writeOutput(job.id, sink);
    expect(text.trim().split('\n').map(Number).slice(0, 5)).toEqual([2, 3, 5, 7, 11]);
    expect(text.trim().split('\n')).toHaveLength(25);
  });

  it('refuses a job that would store more than the data dir has free, naming the flag that sizes it, the estimate and the room', () => {
    let free = DISK_RESERVE_BYTES + 10 * 2 ** 20;
    const head = new Head({ journal: new MemoryJournal(), leaseKey: 'k'.repeat(64), logger: pino({ level: 'silent' }), settings: headSettings({ leaseMs: 1000 }), secret: null, clock: new ManualClock(1000), diskFree: () => free });
    // 10 MiB of room: a Life checkpoint of 2 x 32 MiB does not fit, one of 2 x 2 MiB does
    let err: unknown;
    try {
      head.submit({ task: 'life', params: { size: '16384x16384' } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).field).toBe('--size');
    expect((err as InputError).message).toBe('the job would store about 64 MiB at the head (1 result row(s) and 64 MiB of output); its data dir has 266 MiB free, of which 256 MiB stay spare: narrow --size or free disk space');
    expect(head.submit({ task: 'life', params: { size: '4096x4096' } }).state).toBe('queued');
    // result rows count too: 100,000 chunks of noop take about ROW_BYTES each
    free = DISK_RESERVE_BYTES + 1000 * ROW_BYTES;
    expect(() => head.submit({ task: 'noop', params: { chunks: 100_000 } })).toThrow(/^the job would store about \d+ MiB at the head \(100000 result row\(s\)\); its data dir has/);
    expect(head.submit({ task: 'noop', params: { chunks: 900 } }).chunks).toBe(900);
  });
});
