import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChunkResultRecord, JobRecord } from '../src/core/index.js';
import { journalContract } from '../src/storage/journal.contract.js';
import { EtcdElection, EtcdJournal, FencedError } from '../src/storage/index.js';
import { EtcdCluster, etcdMissing } from './helpers/etcd.js';

const missing = etcdMissing();
let cluster: EtcdCluster;
let election: EtcdElection;
let n = 0;
const opened: EtcdJournal[] = [];

async function until(cond: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const job = (id: string, chunks = 100): JobRecord => ({
  id, seq: 1, task: 'primes', params: {}, start: 0n, end: 1000n, chunk: 10n, chunks, chunkMs: null, priority: 0, maxAttempts: 3,
  state: 'queued', createdAt: 1, startedAt: null, finishedAt: null, error: null,
});

describe.skipIf(missing !== null)('EtcdJournal on a real 3-member etcd', () => {
  beforeAll(async () => {
    cluster = await EtcdCluster.start(3);
    election = new EtcdElection({ endpoints: cluster.endpoints, prefix: 'tj/', name: 'h1', urls: ['https://h1:7070'], leaseTtlS: 5, renewDeadlineMs: 3000, retryMs: 500 });
    election.start();
    await until(() => election.isLeader(), 10_000);
  });
  afterAll(async () => {
    for (const j of opened) j.close();
    await election?.resign();
    election?.close();
    cluster?.stop();
  });

  const open = (prefix: string): EtcdJournal => {
    const j = new EtcdJournal({ endpoints: cluster.endpoints, prefix, fence: () => election.fence() });
    opened.push(j);
    return j;
  };

  journalContract('EtcdJournal', () => {
    const prefix = `tj/c${++n}/`;
    return { journal: open(prefix), reopen: () => open(prefix) };
  });

  it('commitChunksAsync: many results per transaction, duplicates reported, split by size and by op count', async () => {
    const j = open('tj/async/');
    j.createJob(job('big', 5000));
    const rows: ChunkResultRecord[] = Array.from({ length: 3000 }, (_, i) => ({
      jobId: 'big', index: i, span: 1, attempt: 1, worker: 'w', summary: { c: i }, output: new Uint8Array(300).fill(i & 255), finishedAt: 1,
    }));
    const t0 = performance.now();
    const fresh = await j.commitChunksAsync(rows);
    const ms = performance.now() - t0;
    console.log(`etcd: ${rows.length} results (300 B output each) committed in ${ms.toFixed(0)} ms: ${Math.round(rows.length / (ms / 1000))} results/s`);
    expect(fresh.every(Boolean)).toBe(true);
    // a mixed batch: half duplicates
    const again = await j.commitChunksAsync([...rows.slice(2990), ...Array.from({ length: 10 }, (_, k) => ({ ...rows[0]!, index: 3000 + k }))]);
    expect(again).toEqual([...Array(10).fill(false), ...Array(10).fill(true)]);
    // a large output (3 MiB) goes in pieces over several transactions and comes back whole
    const bigOut = new Uint8Array(3 * 1024 * 1024).map((_, k) => (k * 7) & 255);
    expect(await j.commitChunksAsync([{ ...rows[0]!, index: 4000, output: bigOut }])).toEqual([true]);
    const back = [...j.results('big', { withOutput: true, from: 4000 })];
    expect(back).toHaveLength(1);
    expect(Buffer.compare(Buffer.from(back[0]!.output!), Buffer.from(bigOut))).toBe(0);
    // pages in order; outputs intact
    const idx = [...j.results('big', { withOutput: true, from: 2995 })].map((r) => [r.index, r.output?.[0]]);
    expect(idx.slice(0, 6)).toEqual([[2995, 2995 & 255], [2996, 2996 & 255], [2997, 2997 & 255], [2998, 2998 & 255], [2999, 2999 & 255], [3000, 0]]);
    expect([...j.doneSpans('big')]).toHaveLength(3011);
  });

  it('a write under a lapsed or lost leadership is refused with FencedError, and nothing is written', async () => {
    const j = open('tj/fence/');
    j.createJob(job('f'));
    // a fence whose epoch is not the leader key's (what a deposed leader holds)
    const stale = new EtcdJournal({ endpoints: cluster.endpoints, prefix: 'tj/fence/', fence: () => ({ key: election.leaderKey, epoch: 1n, valid: () => true }) });
    opened.push(stale);
    const row: ChunkResultRecord = { jobId: 'f', index: 0, span: 1, attempt: 1, worker: 'w', summary: {}, output: null, finishedAt: 1 };
    await expect(stale.commitChunksAsync([row])).rejects.toBeInstanceOf(FencedError);
    expect(() => stale.commitChunks([row])).toThrow(FencedError);
    expect(() => stale.setJobState('f', 'running', 2)).toThrow(FencedError);
    expect(() => stale.createJob(job('g'))).toThrow(FencedError);
    expect(stale.refused).toBe(4);
    // a fence its holder's clock says has lapsed: refused before any request
    const lapsed = new EtcdJournal({ endpoints: cluster.endpoints, prefix: 'tj/fence/', fence: () => ({ key: election.leaderKey, epoch: election.currentEpoch ?? 0n, valid: () => false }) });
    opened.push(lapsed);
    await expect(lapsed.commitChunksAsync([row])).rejects.toBeInstanceOf(FencedError);
    expect([...j.doneSpans('f')]).toEqual([]);
    expect(j.getJob('f')?.state).toBe('queued');
    expect(j.getJob('g')).toBeUndefined();
    expect(j.commitChunks([row])).toEqual([true]);
  });
});
