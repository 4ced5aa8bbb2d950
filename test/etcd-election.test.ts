import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChunkResultRecord, JobRecord } from '../src/core/index.js';
import { EtcdElection, EtcdJournal, FencedError } from '../src/storage/index.js';
import { EtcdCluster, etcdMissing } from './helpers/etcd.js';

/** Short figures for tests (production: 15 s / 10 s / 2 s, as Kubernetes). */
const TIMING = { leaseTtlS: 2, renewDeadlineMs: 1300, retryMs: 250 };
const missing = etcdMissing();
let cluster: EtcdCluster;
const live: EtcdElection[] = [];
const procs: ChildProcess[] = [];

async function until(cond: () => boolean | Promise<boolean>, ms: number, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function candidate(prefix: string, name: string, timing: typeof TIMING = TIMING): EtcdElection {
  const e = new EtcdElection({ endpoints: cluster.endpoints, prefix, name, urls: [`https://${name}:7070`], ...timing });
  live.push(e);
  e.start();
  return e;
}

/** A candidate in a process of its own (built code), so it can be SIGKILLed or SIGSTOPped. */
function candidateProcess(prefix: string, name: string): { proc: ChildProcess; elected: Promise<void> } {
  const dist = path.resolve('dist/storage/index.js');
  const code = `
    const { EtcdElection } = await import(${JSON.stringify(dist)});
    const e = new EtcdElection({ endpoints: ${JSON.stringify(cluster.endpoints)}, prefix: ${JSON.stringify(prefix)}, name: ${JSON.stringify(name)}, urls: ['https://${name}:7070'], ...${JSON.stringify(TIMING)} });
    e.on('elected', (i) => console.log('elected ' + i.epoch));
    e.start();`;
  const proc = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  procs.push(proc);
  const elected = new Promise<void>((resolve) => proc.stdout?.on('data', (d: Buffer) => d.toString().includes('elected') && resolve()));
  return { proc, elected };
}

const job: JobRecord = {
  id: 'j', seq: 1, task: 'primes', params: {}, start: 0n, end: 100n, chunk: 10n, chunks: 10, chunkMs: null, priority: 0, maxAttempts: 3,
  state: 'queued', createdAt: 1, startedAt: null, finishedAt: null, error: null,
};
const row = (index: number): ChunkResultRecord => ({ jobId: 'j', index, span: 1, attempt: 1, worker: 'w', summary: {}, output: null, finishedAt: 1 });

describe.skipIf(missing !== null)('EtcdElection on a real 3-member etcd', () => {
  beforeAll(async () => {
    cluster = await EtcdCluster.start(3);
  });
  afterAll(async () => {
    for (const p of procs) p.kill('SIGKILL');
    for (const e of live) e.close();
    cluster?.stop();
  });

  it('three candidates: exactly one leader, and everyone sees it and its URLs', async () => {
    const cs = ['a', 'b', 'c'].map((n) => candidate('e1/', n));
    await until(() => cs.some((c) => c.isLeader()), 5000, 'a leader');
    await until(() => cs.every((c) => c.leader() !== null), 5000, 'everyone to observe');
    await new Promise((r) => setTimeout(r, 1000)); // several periods: nobody else wins
    const leaders = cs.filter((c) => c.isLeader());
    expect(leaders).toHaveLength(1);
    const l = leaders[0] as EtcdElection;
    for (const c of cs) expect(c.leader()).toEqual({ name: l.name, urls: [`https://${l.name}:7070`], epoch: l.currentEpoch });
    expect((await l.candidates()).map((x) => x.name).sort()).toEqual(['a', 'b', 'c']);
    // resign: another takes over at once (no TTL to wait), with a higher epoch
    const before = l.currentEpoch as bigint;
    await l.resign();
    await until(() => cs.some((c) => c !== l && c.isLeader()), 3000, 'a new leader after resign');
    const next = cs.find((c) => c.isLeader()) as EtcdElection;
    expect(next.currentEpoch as bigint).toBeGreaterThan(before);
    for (const c of cs) c.close();
  });

  it('the leader process SIGKILLed: another wins within TTL + a retry period, and the old epoch is fenced', async () => {
    const times: number[] = [];
    for (let trial = 0; trial < 3; trial++) {
      const prefix = `e2-${trial}/`;
      const old = candidateProcess(prefix, 'old');
      await old.elected;
      const others = [candidate(prefix, 'b'), candidate(prefix, 'c')];
      await until(() => others.every((o) => o.leader()?.name === 'old'), 3000, 'standbys to see the leader');
      const oldEpoch = (others[0] as EtcdElection).leader()?.epoch as bigint;
      const t0 = performance.now();
      old.proc.kill('SIGKILL');
      await until(() => others.some((o) => o.isLeader()), 10_000, 'a new leader');
      times.push(performance.now() - t0);
      expect(others.filter((o) => o.isLeader())).toHaveLength(1);
      const winner = others.find((o) => o.isLeader()) as EtcdElection;
      // the dead leader's journal (its fence forged valid, as if its clock lied) cannot write
      const fresh = new EtcdJournal({ endpoints: cluster.endpoints, prefix, fence: () => winner.fence() });
      const stale = new EtcdJournal({ endpoints: cluster.endpoints, prefix, fence: () => ({ key: winner.leaderKey, epoch: oldEpoch, valid: () => true }) });
      fresh.createJob(job);
      await expect(stale.commitChunksAsync([row(1)])).rejects.toBeInstanceOf(FencedError);
      expect(await fresh.commitChunksAsync([row(1)])).toEqual([true]);
      fresh.close();
      stale.close();
      for (const o of others) o.close();
    }
    console.log(`failover after SIGKILL of the leader (TTL ${TIMING.leaseTtlS} s, retry ${TIMING.retryMs} ms): ${times.map((t) => t.toFixed(0)).join(', ')} ms`);
    for (const t of times) expect(t).toBeLessThan(TIMING.leaseTtlS * 1000 + 2 * TIMING.retryMs + 1000);
  });

  it('a leader paused past its lease (SIGSTOP) wakes up demoted by its own clock and cannot write; the new leader can', async () => {
    const prefix = 'e3/';
    const old = candidateProcess(prefix, 'old');
    await old.elected;
    const b = candidate(prefix, 'b');
    await until(() => b.leader()?.name === 'old', 3000, 'b to see old');
    old.proc.kill('SIGSTOP');
    await until(() => b.isLeader(), 10_000, 'b to win');
    old.proc.kill('SIGCONT');
    // in-process stand-in for the woken leader: its fence lapsed by the clock, so writes are refused before etcd
    const a = new EtcdElection({ endpoints: cluster.endpoints, prefix, name: 'a', urls: [], ...TIMING });
    expect(a.fence()).toBeNull();
    const j = new EtcdJournal({ endpoints: cluster.endpoints, prefix, fence: () => b.fence() });
    j.createJob(job);
    expect(j.commitChunks([row(0)])).toEqual([true]);
    j.close();
    a.close();
  });

  it('an etcd member killed -9 (the raft leader): the election and the journal go on with quorum', async () => {
    const prefix = 'e4/';
    // a lease long enough to outlast etcd's own raft election plus one lost request (3 s) on a loaded
    // machine: the point here is that quorum carries on, not how short a lease can be
    const calm = { leaseTtlS: 8, renewDeadlineMs: 6000, retryMs: 250 };
    const cs = [candidate(prefix, 'a', calm), candidate(prefix, 'b', calm)];
    await until(() => cs.some((c) => c.isLeader()), 5000, 'a leader');
    const l = cs.find((c) => c.isLeader()) as EtcdElection;
    const j = new EtcdJournal({ endpoints: cluster.endpoints, prefix, fence: () => l.fence() });
    j.createJob(job);
    const dead = Math.max(0, await cluster.leaderIndex());
    await cluster.kill(dead);
    const t0 = performance.now();
    let written = 0;
    // the first write may wait out one request timeout (3 s): a proposal in flight to the killed raft
    // leader is lost, and the client tries the next member
    while (performance.now() - t0 < 5000) {
      // the leader keeps renewing through the two members left; commits keep succeeding
      if (l.isLeader()) {
        expect(await j.commitChunksAsync([row(written)])).toEqual([true]);
        written++;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    console.log(`${written} fenced commits in 5 s after the raft leader member was killed`);
    expect(l.isLeader()).toBe(true);
    expect(written).toBeGreaterThan(2);
    expect([...j.doneSpans('j')]).toHaveLength(written);
    await cluster.restart(dead);
    j.close();
    for (const c of cs) c.close();
  });

  it('two of three etcd members killed: the leader steps down by its own clock within the renew deadline, nobody leads; quorum back: a leader again', async () => {
    for (let i = 0; i < 3; i++) await cluster.restart(i);
    const prefix = 'e5/';
    const cs = [candidate(prefix, 'a'), candidate(prefix, 'b')];
    await until(() => cs.some((c) => c.isLeader()), 5000, 'a leader');
    const l = cs.find((c) => c.isLeader()) as EtcdElection;
    const j = new EtcdJournal({ endpoints: cluster.endpoints, prefix, fence: () => l.fence() });
    await cluster.kill(1);
    await cluster.kill(2);
    const t0 = performance.now();
    // the surviving member, if it was raft leader, may still accept lease renewals until it sees that it
    // lost quorum (its election timeout, 500 ms here, later on a loaded machine): the leader's authority
    // runs from the last renewal etcd accepted. The safety bound: a leader is down before the lease that
    // renewal gave it can have expired, by its own clock.
    let until0 = l.authorityUntil;
    await until(() => {
      if (l.isLeader()) until0 = l.authorityUntil;
      return !l.isLeader();
    }, TIMING.leaseTtlS * 1000 + 5000, 'the leader to step down');
    const down = performance.now();
    const renewedAt = until0 - TIMING.renewDeadlineMs;
    console.log(`leader stepped down ${(down - t0).toFixed(0)} ms after quorum loss, ${(down - renewedAt).toFixed(0)} ms after its last accepted renewal (renew deadline ${TIMING.renewDeadlineMs} ms, lease ${TIMING.leaseTtlS} s)`);
    expect(down - renewedAt).toBeLessThan(TIMING.leaseTtlS * 1000);
    expect(() => j.setJobSummary('j', {})).toThrow(FencedError);
    await new Promise((r) => setTimeout(r, 1500));
    expect(cs.filter((c) => c.isLeader())).toHaveLength(0);
    await cluster.restart(1);
    await cluster.restart(2);
    await until(() => cs.some((c) => c.isLeader()), 15_000, 'a leader after quorum returns');
    expect(cs.filter((c) => c.isLeader())).toHaveLength(1);
    j.close();
    for (const c of cs) c.close();
  });
});
