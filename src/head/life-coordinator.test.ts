import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../core/index.js';
import { info, recorder, testHead } from './head.fixture.js';
import { LifeCoordinator, lifeMemoryBytes } from './life-coordinator.js';

describe('LifeCoordinator', () => {
  it('refuses a grid the connected workers cannot hold, naming --size and the memory it needs', () => {
    const { head } = testHead();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bramble-life-unit-'));
    try {
      const links = {
        peers: () => [{ id: 'pi', name: 'pi', slots: 4, memFree: 100 * 2 ** 20 }],
        send: () => true,
        bufferedBytes: () => 0,
      };
      const life = new LifeCoordinator({ clock: head.clock, ledger: head.ledger, events: head.bus, batcher: () => head.batcher, links, dir });
      const big = { width: 32768, height: 32768, generations: 10, rule: 'B3/S23', bounded: false, density: 0.5, seed: 1, pattern: null, parts: null, halo: null, checkpointEvery: null };
      let err: unknown;
      try {
        life.check(big);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InputError);
      expect((err as InputError).message).toMatch(/^--size 32768x32768 needs about \d+ MiB of worker memory in 4 strip\(s\); the 1 connected worker\(s\) have 100 MiB free$/);
      // a 32768 x 32768 grid needs two buffers of 128 MiB of bits, plus ghost rows and a thread per strip
      expect(lifeMemoryBytes(32768, 32768, 4, 8)).toBeGreaterThan(256 * 2 ** 20);
      expect(() => life.check({ ...big, width: 1024, height: 1024 })).not.toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs a Life job itself: its chunk is leased by the coordinator, never handed to a slot', () => {
    const { head } = testHead();
    const s = head.sessions.join(info('w', 4), recorder());
    const job = head.submit({ task: 'life', params: { size: '64x64', generations: 10 } });
    expect(s.lease(4)).toEqual([]);
    expect(head.ledger.counts(job.id)).toMatchObject({ total: 1, leased: 1 });
    expect(head.status(job.id)).toMatchObject({ state: 'running', generation: 0, parts: [] });
  });
});
