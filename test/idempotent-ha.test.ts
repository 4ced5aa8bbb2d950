import { cpSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EtcdCluster, etcdMissing } from './helpers/etcd.js';
import type { HeadHandle } from './helpers/procs.js';
import { api, bramble, cleanup, freePort, run, startHead, tmpDir, waitFor } from './helpers/procs.js';

// Issue 18's failover variant: the leader journals the job in etcd and dies before answering; the CLI,
// given both candidates, retries through the other one once it leads, and finds the one job.

const missing = etcdMissing();

describe.skipIf(missing !== null)('idempotent submit across a failover', () => {
  const root = tmpDir('bramble-idem-ha-');
  const heads: HeadHandle[] = [];
  let etcd: EtcdCluster | null = null;
  afterAll(async () => {
    for (const h of heads) await h.kill();
    etcd?.stop();
    cleanup(root);
  });

  it('a submit whose answer the dying leader never sent is found through the new leader: one job', async () => {
    etcd = await EtcdCluster.start(1);
    const dir = (n: string): string => path.join(root, n);
    const init = await run(['init', '--data', dir('h1'), '--etcd', etcd.endpoints.join(',')]);
    expect(init.code, init.err).toBe(0);
    cpSync(dir('h1'), dir('h2'), { recursive: true });
    // both candidates carry the fault hook: it fires only on a new job, so the survivor answers the retry
    for (const n of ['h1', 'h2']) {
      heads.push(await startHead(dir(n), ['--name', n, '--ha-lease-ttl', '3', '--ha-renew-ms', '2000', '--ha-retry-ms', '300'], { port: await freePort(), httpPort: await freePort() }, { BRAMBLE_TEST_KILL_AFTER_SUBMIT: '1' }));
    }
    const urls = heads.map((h) => h.url);
    await waitFor('a leader', async () => {
      const r = await api<{ leader: string | null; self: { state: string } }>(heads[0] as HeadHandle, 'GET', '/api/ha').catch(() => null);
      return r?.json.leader ?? null;
    }, 30_000, 100);
    const cli = bramble(['submit', 'primes', '--start', '1', '--end', '1e6', '--chunk', '1e5', '--id', 'across', '--timeout', '60', '--json', '--data', dir('h1'), '--head-url', urls.join(',')]);
    const code = await cli.exited;
    expect(code, cli.err()).toBe(0);
    expect(JSON.parse(cli.out())).toMatchObject({ id: 'across', existing: true, chunks: '10' });
    const dead = heads.filter((h) => h.child.signalCode === 'SIGKILL');
    expect(dead).toHaveLength(1); // the leader that journaled it
    const alive = heads.find((h) => h.child.exitCode === null && h.child.signalCode === null) as HeadHandle;
    const jobs = await api<{ jobs: { id: string }[] }>(alive, 'GET', '/api/jobs');
    expect(jobs.json.jobs.map((j) => j.id)).toEqual(['across']);
  }, 120_000);
});
