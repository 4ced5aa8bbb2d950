import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

/**
 * The journal's commit thread: its own connection to the journal file (WAL, synchronous=FULL) writes
 * batches of chunk results, so the fsync of each commit never blocks the head's event loop.
 */
interface Row {
  jobId: string;
  index: number;
  span: number;
  attempt: number;
  worker: string;
  summary: Uint8Array;
  output: Uint8Array | null;
  finishedAt: number;
}

const port = parentPort;
if (!port) throw new Error('commit-thread must run in a worker thread');
const db = new Database((workerData as { path: string }).path);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.pragma('busy_timeout = 10000');
if (db.pragma('synchronous', { simple: true }) !== 2) throw new Error('commit thread: synchronous=FULL did not take');
const insert = db.prepare('INSERT OR IGNORE INTO chunks (job_id, idx, span, attempt, worker, summary, output, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
const unquarantine = db.prepare('DELETE FROM quarantine WHERE job_id = ? AND idx = ?');
const commit = db.transaction((rows: Row[]) =>
  rows.map((r) => {
    const info = insert.run(r.jobId, r.index, r.span, r.attempt, r.worker, r.summary, r.output, r.finishedAt);
    if (info.changes === 1) unquarantine.run(r.jobId, r.index);
    return info.changes === 1;
  }),
);
port.on('message', (m: { id: number; rows: Row[] } | { close: true }) => {
  if ('close' in m) {
    db.close();
    port.close();
    return;
  }
  try {
    port.postMessage({ id: m.id, fresh: commit(m.rows) });
  } catch (err) {
    port.postMessage({ id: m.id, error: (err as Error).message });
  }
});
