import { describe, expect, it } from 'vitest';
import { info, recorder, testHead } from './head.fixture.js';

describe('LifeCoordinator', () => {
  it('runs a Life job itself: its chunk is leased by the coordinator, never handed to a slot', () => {
    const { head } = testHead();
    const s = head.sessions.join(info('w', 4), recorder());
    const job = head.submit({ task: 'life', params: { size: '64x64', generations: 10 } });
    expect(s.lease(4)).toEqual([]);
    expect(head.ledger.counts(job.id)).toMatchObject({ total: 1, leased: 1 });
    expect(head.status(job.id)).toMatchObject({ state: 'running', generation: 0, parts: [] });
  });
});
