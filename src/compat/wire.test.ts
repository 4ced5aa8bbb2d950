import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compatMaxConnectionsDefault } from './wire.js';

function proc(limit: string): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'bramble-compat3-proc-'));
  writeFileSync(path.join(d, 'limits'), `Limit                     Soft Limit           Hard Limit           Units\nMax open files            ${limit}                 ${limit}                 files\n`);
  return d;
}

describe('compatMaxConnectionsDefault', () => {
  it('is 1024, or an eighth of the descriptor limit when that is less', () => {
    for (const [limit, want] of [['1024', 128], ['20000', 1024], ['unlimited', 1024], ['64', 16]] as const) {
      const d = proc(limit);
      expect(compatMaxConnectionsDefault(d)).toBe(want);
      rmSync(d, { recursive: true });
    }
    expect(compatMaxConnectionsDefault('/nonexistent')).toBe(128);
  });
});
