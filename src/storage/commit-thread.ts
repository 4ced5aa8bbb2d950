import { parentPort, workerData } from 'node:worker_threads';
import type { PackedChunkRow } from './journal-db.js';
import { chunkCommitter, openJournalDb } from './journal-db.js';

/**
 * The journal's commit thread: its own connection to the journal file (WAL, synchronous=FULL) writes
 * batches of chunk results, so the fsync of each commit never blocks the head's event loop.
 */
const port = parentPort;
if (!port) throw new Error('commit-thread must run in a worker thread');
const db = openJournalDb((workerData as { path: string }).path, 10_000);
const commit = chunkCommitter(db);
port.on('message', (m: { id: number; rows: PackedChunkRow[] } | { close: true }) => {
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
