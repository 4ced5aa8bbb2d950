import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { info, recorder, testHead } from './head.fixture.js';

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
});
