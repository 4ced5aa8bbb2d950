import Database from 'better-sqlite3';

/** A result row with its summary already packed (what the commit thread receives). */
export interface PackedChunkRow {
  jobId: string;
  index: number;
  span: number;
  attempt: number;
  worker: string;
  summary: Uint8Array;
  output: Uint8Array | null;
  finishedAt: number;
}

/** Opens the journal file in WAL mode with synchronous=FULL, and checks that both took. */
export function openJournalDb(path: string, busyTimeoutMs = 5000): Database.Database {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma(`busy_timeout = ${busyTimeoutMs}`);
  const sync = db.pragma('synchronous', { simple: true });
  const mode = db.pragma('journal_mode', { simple: true });
  if (sync !== 2 || (path !== ':memory:' && mode !== 'wal')) {
    db.close();
    throw new Error(`expected journal_mode=wal and synchronous=FULL(2), got ${String(mode)} and ${String(sync)}`);
  }
  return db;
}

/**
 * The one transaction that accepts results: each row inserted once (a second copy of a chunk changes
 * nothing) and its quarantine mark cleared. Returns, per row, whether it was new.
 */
export function chunkCommitter(db: Database.Database): (rows: PackedChunkRow[]) => boolean[] {
  const insert = db.prepare('INSERT OR IGNORE INTO chunks (job_id, idx, span, attempt, worker, summary, output, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  const unquarantine = db.prepare('DELETE FROM quarantine WHERE job_id = ? AND idx = ?');
  return db.transaction((rows: PackedChunkRow[]) =>
    rows.map((r) => {
      const info = insert.run(r.jobId, r.index, r.span, r.attempt, r.worker, r.summary, r.output, r.finishedAt);
      if (info.changes === 1) unquarantine.run(r.jobId, r.index);
      return info.changes === 1;
    }),
  );
}
