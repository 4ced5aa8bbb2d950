import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobRecord } from '../src/core/index.js';
import { EtcdElection, EtcdJournal } from '../src/storage/index.js';
import { EtcdCluster, etcdMissing } from './helpers/etcd.js';

// Idempotent submit (issue 18) where it matters most: heads racing on one job id over one etcd. Each
// racer is a thread with its own EtcdJournal (its own connections, as another head would have), all
// released at once; the job key's create-if-absent transaction must let exactly one win.

const missing = etcdMissing();
const DIST = pathToFileURL(path.join(path.dirname(fileURLToPath(import.meta.url)), '../dist/storage/index.js')).href;

const racer = `
import { workerData, parentPort } from 'node:worker_threads';
const { EtcdJournal } = await import(workerData.dist);
const { endpoints, prefix, key, epoch, n, flag } = workerData;
const j = new EtcdJournal({ endpoints, prefix, fence: () => ({ key, epoch: BigInt(epoch), valid: () => true }) });
j.getJob('warm-up'); // connections open before the start
const go = new Int32Array(flag);
parentPort.postMessage({ ready: n });
Atomics.wait(go, 0, 0);
const job = { id: 'raced', seq: n, task: 'noop', params: {}, start: 0n, end: 9n, chunk: 1n, chunks: 10, chunkMs: null, priority: 0, maxAttempts: 3,
  state: 'queued', createdAt: n, startedAt: null, finishedAt: null, error: null, request: JSON.stringify({ n }) };
const found = j.createJob(job);
parentPort.postMessage({ n, won: found === undefined, seen: found?.request ?? null });
j.close();
`;

describe.skipIf(missing !== null)('EtcdJournal: one job id raced by several heads', () => {
  let cluster: EtcdCluster;
  let election: EtcdElection;

  beforeAll(async () => {
    cluster = await EtcdCluster.start(1);
    election = new EtcdElection({ endpoints: cluster.endpoints, prefix: 'race/', name: 'h1', urls: ['https://h1:7070'], leaseTtlS: 5, renewDeadlineMs: 3000, retryMs: 500 });
    election.start();
    const end = Date.now() + 10_000;
    while (!election.isLeader()) {
      if (Date.now() > end) throw new Error('no leadership in 10 s');
      await new Promise((r) => setTimeout(r, 20));
    }
  });
  afterAll(async () => {
    await election?.resign();
    election?.close();
    cluster?.stop();
  });

  it('makes one job: one racer creates it, every other gets that job back', async () => {
    const fence = election.fence();
    if (!fence) throw new Error('not the leader');
    const N = 8;
    const flag = new SharedArrayBuffer(4);
    const ready: Promise<void>[] = [];
    const results: Promise<{ n: number; won: boolean; seen: string | null }>[] = [];
    const threads: Worker[] = [];
    for (let n = 0; n < N; n++) {
      const w = new Worker(new URL(`data:text/javascript,${encodeURIComponent(racer)}`), {
        workerData: { dist: DIST, endpoints: cluster.endpoints, prefix: 'race/j/', key: fence.key, epoch: fence.epoch.toString(), n, flag },
      });
      threads.push(w);
      ready.push(new Promise((resolve, reject) => {
        w.once('message', () => resolve());
        w.once('error', reject);
      }));
      results.push(new Promise((resolve, reject) => {
        w.on('message', (m: { n?: number; won?: boolean; seen?: string | null }) => {
          if (m.won !== undefined) resolve(m as { n: number; won: boolean; seen: string | null });
        });
        w.once('error', reject);
      }));
    }
    await Promise.all(ready);
    Atomics.store(new Int32Array(flag), 0, 1);
    Atomics.notify(new Int32Array(flag), 0);
    const got = await Promise.all(results);
    for (const w of threads) await w.terminate();

    const winners = got.filter((r) => r.won);
    expect(winners).toHaveLength(1);
    const winner = JSON.stringify({ n: (winners[0] as { n: number }).n });
    expect(got.filter((r) => !r.won).map((r) => r.seen)).toEqual(Array(N - 1).fill(winner));
    const j = new EtcdJournal({ endpoints: cluster.endpoints, prefix: 'race/j/', fence: () => election.fence() });
    const stored: JobRecord | undefined = j.getJob('raced');
    expect(stored?.request).toBe(winner);
    expect(j.listJobs()).toHaveLength(1);
    j.close();
  });
});
