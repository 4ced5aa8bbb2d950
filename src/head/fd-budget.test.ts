import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeFdBudget, fdBudget, readFdLimits } from './fd-budget.js';

describe('fd budget', () => {
  it('reads the soft and hard limits and the descriptors in use from a /proc-like dir', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'proc-'));
    writeFileSync(path.join(dir, 'limits'), 'Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 4096                 files\n');
    mkdirSync(path.join(dir, 'fd'));
    for (let i = 0; i < 7; i++) writeFileSync(path.join(dir, 'fd', String(i)), '');
    expect(readFdLimits(dir)).toEqual({ soft: 1024, hard: 4096, inUse: 7, measured: true });
    expect(readFdLimits(path.join(dir, 'none')).measured).toBe(false);
  });

  it('never gives the ports more descriptors than the limit holds, and workers at least half', () => {
    for (const soft of [256, 1024, 4096, 20_000, 1_048_576]) {
      const b = fdBudget({ soft, hard: soft, inUse: 40, measured: true });
      const total = b.http.maxConnections + b.workers.maxConnections + b.spare + 40;
      expect(total, `limit ${soft}`).toBeLessThanOrEqual(Math.max(soft, 40 + 64 + 16));
      expect(b.workers.maxConnections - b.workers.maxPending).toBeGreaterThanOrEqual((soft - 104) / 2 - 1);
      expect(b.http.maxPerAddress).toBeLessThanOrEqual(b.http.maxConnections);
    }
    const pi = fdBudget({ soft: 1024, hard: 1024, inUse: 40, measured: true });
    expect(pi.http.maxConnections).toBe(230);
    expect(describeFdBudget(pi)).toMatch(/limit 1024 .*HTTPS at most 230 connections \(32 per address\)/);
  });
});
