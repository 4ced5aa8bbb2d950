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
    expect(s.snapshot()).toEqual({ count: '4', max: '18446744073709551557', reporters: ['10.0.0.1', '10.0.0.2', '10.0.0.3'], reportersTotal: 3, received: 7, duplicates: 2, rejected: 1 });
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
});
