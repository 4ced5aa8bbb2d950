import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { JobRecord } from '../core/index.js';
import { journalContract } from './journal.contract.js';
import { MemoryJournal } from '../core/index.js';
import { SqliteJournal } from './sqlite-journal.js';

journalContract('MemoryJournal', () => ({ journal: new MemoryJournal() }));
journalContract('SqliteJournal', () => {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'bramble-j-')), 'j.db');
  return { journal: new SqliteJournal(file), reopen: () => new SqliteJournal(file) };
});

describe('SqliteJournal', () => {
  it('opens a journal made before idempotent submits: the request column is added, old jobs have none', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'bramble-j-')), 'j.db');
    const old = new Database(file);
    old.exec(`CREATE TABLE jobs (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, task TEXT NOT NULL, params TEXT NOT NULL,
      start TEXT NOT NULL, "end" TEXT NOT NULL, chunk TEXT NOT NULL, chunks INTEGER NOT NULL, chunk_ms INTEGER,
      priority INTEGER NOT NULL, max_attempts INTEGER NOT NULL, state TEXT NOT NULL,
      created_at INTEGER NOT NULL, started_at INTEGER, finished_at INTEGER, error TEXT, summary BLOB)`);
    old.prepare(`INSERT INTO jobs VALUES ('old', 1, 'noop', '{}', '0', '9', '1', 10, NULL, 0, 3, 'done', 1, 2, 3, NULL, NULL)`).run();
    old.close();
    const j = new SqliteJournal(file);
    expect(j.getJob('old')).toMatchObject({ id: 'old', state: 'done', request: null });
    expect(j.createJob({ ...(j.getJob('old') as JobRecord), id: 'new', seq: 2, request: '{"task":"noop"}' })).toBeUndefined();
    expect(j.getJob('new')?.request).toBe('{"task":"noop"}');
    j.close();
  });

  it('runs in WAL mode with synchronous=FULL', () => {
    const j = new SqliteJournal(path.join(mkdtempSync(path.join(os.tmpdir(), 'bramble-j-')), 'j.db'));
    expect(j.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(j.db.pragma('synchronous', { simple: true })).toBe(2);
    expect(j.integrityCheck()).toBe('ok');
    j.close();
  });
});
