import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PrimeStreamStore } from './prime-stream-store.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function file(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'bramble-pss-'));
  dirs.push(d);
  return path.join(d, 'compat-primes.db');
}

describe('PrimeStreamStore', () => {
  it('counts unique primes, keeps the largest and the reporters, and survives a reopen', () => {
    const f = file();
    const s = new PrimeStreamStore(f);
    for (const p of [7n, 3n, 5n, 7n, 18446744073709551557n]) s.add(p, '10.0.0.1');
    s.add(3n, '10.0.0.2');
    s.add(null, '10.0.0.3');
    expect(s.snapshot()).toEqual({ count: '4', max: '18446744073709551557', reporters: ['10.0.0.1', '10.0.0.2', '10.0.0.3'], reportersTotal: 3, received: 7, duplicates: 2, rejected: 1, topSources: [{ addr: '10.0.0.1', stored: 4 }, { addr: '10.0.0.2', stored: 0 }, { addr: '10.0.0.3', stored: 0 }] });
    s.close();
    const again = new PrimeStreamStore(f);
    expect(again.snapshot()).toMatchObject({ count: '4', received: 7, duplicates: 2, rejected: 1 });
    expect([...again.text(2)].join('')).toBe('3\n5\n7\n18446744073709551557\n');
    again.close();
  });

  it('writes a full batch at once and the rest within flushMs', async () => {
    const s = new PrimeStreamStore(file(), { maxQueue: 3, flushMs: 20 });
    s.add(2n, 'a');
    s.add(3n, 'a');
    s.add(5n, 'a');
    s.add(7n, 'a');
    await new Promise((r) => setTimeout(r, 60));
    expect(s.snapshot().count).toBe('4');
    s.close();
  });

  it('caps the primes stored in all, per source and the sources, queued ones included; the counts survive a reopen', () => {
    const f = file();
    const s = new PrimeStreamStore(f, { limits: { maxTotal: 5, maxPerSource: 3, maxSources: 2 } });
    const offer = (p: bigint, from: string): string | null => {
      const why = s.admit(from);
      if (why === null) s.add(p, from);
      return why;
    };
    expect([offer(2n, 'a'), offer(3n, 'a'), offer(5n, 'a'), offer(7n, 'a')]).toEqual([null, null, null, 'source']);
    expect(offer(11n, 'c')).toBeNull();
    expect(offer(13n, 'd')).toBe('sources'); // a third source
    s.flush();
    // a duplicate uses no room: 'c' stored one prime
    expect(offer(2n, 'c')).toBeNull();
    expect(s.admit('c')).toBe('total'); // a queued value counts as new until it is written
    s.flush();
    expect(offer(17n, 'c')).toBeNull();
    s.flush();
    expect(s.storedBy('c')).toBe(2);
    expect(s.snapshot()).toMatchObject({ count: '5', duplicates: 1 });
    expect(offer(19n, 'c')).toBe('total');
    s.close();
    const again = new PrimeStreamStore(f, { limits: { maxTotal: 100, maxPerSource: 3, maxSources: 2 } });
    expect(again.storedBy('a')).toBe(3);
    expect(again.admit('a')).toBe('source');
    expect(again.admit('c')).toBeNull();
    expect(again.admit('d')).toBe('sources');
    again.close();
  });
});
