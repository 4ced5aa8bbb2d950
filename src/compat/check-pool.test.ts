import { afterEach, describe, expect, it } from 'vitest';
import { listPrimes } from '../kernels/index.js';
import { CheckPool } from './check-pool.js';

// the thread runs from dist/ (npm run build), as the slot pool's does in tests
const pools: CheckPool[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) await p.close();
});

const TOP = 10n ** 15n; // high enough to be real work, low enough to be quick on a loaded machine

describe('CheckPool', () => {
  it('computes the exact primes of a chunk on a thread, as the kernel does', async () => {
    const pool = new CheckPool({ threads: 1, budgetMsPerMinute: 60_000, timeoutMs: 60_000, now: Date.now });
    pools.push(pool);
    const out = await pool.check('a', TOP - 100_000n, TOP).done;
    const want = listPrimes(TOP - 100_000n, TOP);
    expect(Buffer.from(out.output ?? []).equals(Buffer.from(want.encoded))).toBe(true);
    expect(out.summary).toMatchObject({ c: want.count });
    expect(pool.stats()).toMatchObject({ checks: 1, running: 0, queued: 0, failed: 0 });
  });

  it('makes a source over its budget wait, serving other sources first', async () => {
    let t = 0;
    // 1 ms of check time a minute: one check of 10^6 numbers spends more than that
    const pool = new CheckPool({ threads: 1, budgetMsPerMinute: 1, timeoutMs: 60_000, now: () => t });
    pools.push(pool);
    const order: string[] = [];
    const run = (src: string, name: string): Promise<void> =>
      pool.check(src, TOP - 1_000_000n, TOP).done.then(() => {
        order.push(name);
      });
    await run('a', 'a1');
    const a2 = run('a', 'a2');
    const b1 = run('b', 'b1');
    await b1;
    expect(order).toEqual(['a1', 'b1']);
    expect(pool.stats()).toMatchObject({ queued: 1, deferred: 1 });
    t += 1e12; // long after, a's budget is full again; the next check wakes the queue
    const c1 = run('c', 'c1');
    await Promise.all([a2, c1]);
    expect(order.slice(0, 2)).toEqual(['a1', 'b1']);
    expect(order.slice(2).sort()).toEqual(['a2', 'c1']);
    expect(pool.stats()).toMatchObject({ checks: 4, queued: 0 });
  });

  it('fails a check past its time and keeps serving', async () => {
    const pool = new CheckPool({ threads: 1, budgetMsPerMinute: 600_000, timeoutMs: 5, now: Date.now });
    pools.push(pool);
    await expect(pool.check('a', TOP - 10_000_000n, TOP).done).rejects.toThrow(/the check took longer than 0 s/);
    expect(pool.stats().failed).toBe(1);
  });
});
