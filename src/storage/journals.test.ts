import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { journalContract } from './journal.contract.js';
import { MemoryJournal } from './memory-journal.js';
import { SqliteJournal } from './sqlite-journal.js';

journalContract('MemoryJournal', () => ({ journal: new MemoryJournal() }));
journalContract('SqliteJournal', () => {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'bramble-j-')), 'j.db');
  return { journal: new SqliteJournal(file), reopen: () => new SqliteJournal(file) };
});

describe('SqliteJournal', () => {
  it('runs in WAL mode with synchronous=FULL', () => {
    const j = new SqliteJournal(path.join(mkdtempSync(path.join(os.tmpdir(), 'bramble-j-')), 'j.db'));
    expect(j.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(j.db.pragma('synchronous', { simple: true })).toBe(2);
    expect(j.integrityCheck()).toBe('ok');
    j.close();
  });
});
