import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../core/index.js';
import type { LifeMessage } from '../protocol/index.js';
import { patternRef, planJob } from '../tasks/index.js';
import { info, recorder, testHead } from './head.fixture.js';
import { firstHalo, LifeCoordinator, lifeMemoryBytes } from './life-coordinator.js';

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

  it('stores a pattern once, cuts it into generation 0 and sends each strip its rows, never the text; starts at once when the named strips have slots', async () => {
    const { head } = testHead();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bramble-life-unit-'));
    try {
      const sent: LifeMessage[] = [];
      const links = { peers: () => [{ id: 'pi', name: 'pi', slots: 2, memFree: null }], send: (_id: string, m: LifeMessage) => (sent.push(m), true), bufferedBytes: () => 0 };
      const life = new LifeCoordinator({ clock: head.clock, ledger: head.ledger, events: head.bus, batcher: () => head.batcher, links, dir });
      const glider = 'x = 3, y = 3, rule = B3/S23\nbo$2bo$3o!\n';
      const named = life.admit({ task: 'life', params: { size: '64x32', generations: 10, pattern: glider, parts: 2 } });
      expect(named.params?.['pattern']).toBe(patternRef(glider));
      const unnamed = life.admit({ task: 'life', params: { size: '64x32', generations: 10, pattern: glider } });
      const a = head.ledger.submit({ id: 'named', ...planJob(named, 2) }).job;
      const b = head.ledger.submit({ id: 'unnamed', ...planJob(unnamed, 2) }).job;
      life.adopt(a);
      life.adopt(b);
      await new Promise((r) => setTimeout(r, 50));
      // the job naming 2 strips started with 2 slots there; the other waits 300 ms for more workers
      const loads = sent.filter((m): m is Extract<LifeMessage, { type: 'life-load' }> => m.type === 'life-load');
      expect(loads.map((m) => [m.job, m.part, m.init])).toEqual([['named', 0, 'rows'], ['named', 1, 'rows']]);
      expect(loads.every((m) => m.pattern === undefined)).toBe(true);
      const rows = sent.filter((m) => m.type === 'life-rows');
      expect(rows.length).toBeGreaterThanOrEqual(2);
      expect(JSON.stringify(sent)).not.toContain('bo$2bo');
      // its pattern is still stored: the unnamed job has not been cut yet
      expect(existsSync(path.join(dir, 'patterns', `${patternRef(glider).slice(7)}.rle`))).toBe(true);
      await new Promise((r) => setTimeout(r, 400));
      expect(sent.some((m) => m.type === 'life-load' && m.job === 'unnamed')).toBe(true);
      expect(readdirSync(path.join(dir, 'patterns'))).toEqual([]);
      expect(firstHalo(2048, 1)).toBe(64);
      expect(firstHalo(64, 2)).toBe(8);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps no pattern for a submit that made no job: a refused one, or one answered with the existing job', () => {
    const { head } = testHead();
    const patterns = path.join(os.tmpdir(), `bramble-life-${head.headId}`, 'patterns');
    try {
      const glider = 'x = 3, y = 3, rule = B3/S23\nbo$2bo$3o!\n';
      const blinker = 'x = 3, y = 1, rule = B3/S23\n3o!\n';
      const first = head.submitOnce({ task: 'life', params: { size: '64x32', generations: 10, pattern: glider } }, 'g1');
      expect(first.existing).toBe(false);
      expect(readdirSync(patterns)).toEqual([`${patternRef(glider).slice(7)}.rle`]);
      // the same again: the job is answered and its pattern (not yet cut) kept
      expect(head.submitOnce({ task: 'life', params: { size: '64x32', generations: 10, pattern: glider } }, 'g1').existing).toBe(true);
      expect(readdirSync(patterns)).toEqual([`${patternRef(glider).slice(7)}.rle`]);
      // another pattern under the same id is refused and not kept
      expect(() => head.submitOnce({ task: 'life', params: { size: '64x32', generations: 10, pattern: blinker } }, 'g1')).toThrow(/--pattern differs/);
      // so is one that does not fit the grid
      expect(() => head.submitOnce({ task: 'life', params: { size: '4x4', generations: 10, pattern: 'x = 5, y = 1\n5o!\n' } })).toThrow(/--pattern is 5x1, larger than the --size 4x4 grid/);
      expect(readdirSync(patterns)).toEqual([`${patternRef(glider).slice(7)}.rle`]);
      head.cancel('g1');
      expect(readdirSync(patterns)).toEqual([]);
    } finally {
      rmSync(path.dirname(patterns), { recursive: true, force: true });
    }
  });
});
