import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HeadHandle, Proc } from './helpers/procs.js';
import { BIN, api, cleanup, startHead, startWorker, tmpDir, waitFor } from './helpers/procs.js';
import { inNamespace, netnsMissing, setLink, vethDown, vethUp } from './helpers/netns.js';

/**
 * A worker in its own network namespace, cut off from the head by taking the veth link down for
 * longer than its lease, then healed. Needs root and iproute2: under CI=true their absence fails.
 */
const NS = `bpart${process.pid % 10000}`;
const HOST_IF = `bph${process.pid % 10000}`;
const NS_IF = `bpw${process.pid % 10000}`;
const HEAD_IP = '10.231.0.1';
const WORKER_IP = '10.231.0.2';

const missing = netnsMissing();
if (missing && process.env['CI'] === 'true') {
  describe('network partition', () => {
    it('has what it needs', () => {
      throw new Error(`the partition test ${missing} (CI=true)`);
    });
  });
}

describe.skipIf(missing !== null)('network partition', () => {
  const procs: Proc[] = [];
  let dir = '';
  const host = { ns: NS, hostIf: HOST_IF, nsIf: NS_IF, nsIp: WORKER_IP, hostIp: HEAD_IP };
  beforeAll(() => {
    vethUp(host);
  });
  afterAll(async () => {
    for (const p of procs) await p.kill();
    vethDown(host);
    if (dir) cleanup(dir);
  });

  it('re-leases a partitioned worker’s chunks; after healing it rejoins and its late results are dropped', async () => {
    dir = tmpDir();
    const env = { BRAMBLE_FIXTURES: '1' };
    const head: HeadHandle = await startHead(dir, ['--bind', '0.0.0.0', '--lease-ms', '1500', '--telemetry-ms', '300', '--stale-ms', '1000', '--lost-ms', '60000'], undefined, env);
    procs.push(head);
    // the worker in the namespace reaches the head at the veth address
    const child = spawn(...inNamespace(NS, process.execPath, [BIN, 'worker', '--head', `${HEAD_IP}:${head.port}`, '--data', dir, '--name', 'island', '--instance', '999', '--slots', '2', '--log-level', 'warn']), {
      env: { ...process.env, ...env },
      stdio: 'ignore',
    });
    const island: Proc = {
      child,
      out: () => '',
      err: () => '',
      exited: new Promise((r) => child.on('exit', r)),
      async kill() {
        if (child.exitCode === null) child.kill('SIGKILL');
        await this.exited;
      },
    };
    procs.push(island);
    await waitFor('the island worker to join', async () => (await api<{ nodes: { name: string; state: string }[] }>(head, 'GET', '/api/nodes')).json.nodes.some((n) => n.name === 'island' && n.state === 'ready'), 20_000);
    const sub = await api<{ id: string }>(head, 'POST', '/api/jobs', { task: 'fixture-sleep', params: { chunks: 24, ms: 700 } });
    const id = sub.json.id;
    const islandId = await waitFor('island to hold leases', async () => {
      const nodes = (await api<{ nodes: { id: string; name: string; busy: number }[] }>(head, 'GET', '/api/nodes')).json.nodes;
      const n = nodes.find((x) => x.name === 'island');
      return n && n.busy > 0 ? n.id : null;
    });
    await new Promise((r) => setTimeout(r, 300));
    setLink(HOST_IF, false); // the partition
    const mainland = startWorker(head, 'mainland', ['--slots', '2'], env);
    procs.push(mainland);
    await waitFor('the island’s leases to expire', async () => (await api<{ ledger: { expired: number } }>(head, 'GET', '/api/stats')).json.ledger.expired >= 1, 20_000);
    const st = await waitFor('the job to finish on the mainland', async () => {
      const r = await api<{ state: string }>(head, 'GET', `/api/jobs/${id}`);
      return r.json.state === 'done' ? r.json : null;
    }, 60_000, 200);
    expect(st.state).toBe('done');
    const islandNode = (await api<{ state: string }>(head, 'GET', `/api/nodes/${encodeURIComponent(islandId)}`)).json;
    expect(['stale', 'lost']).toContain(islandNode.state);
    setLink(HOST_IF, true); // healed
    await waitFor('the island to rejoin', async () => (await api<{ state: string }>(head, 'GET', `/api/nodes/${encodeURIComponent(islandId)}`)).json.state === 'ready', 60_000, 200);
    await waitFor('its late results to be dropped as duplicates', async () => (await api<{ ledger: { duplicates: number } }>(head, 'GET', '/api/stats')).json.ledger.duplicates >= 1, 60_000, 200);
    const r = await api<{ chunks: string; sum: string }>(head, 'GET', `/api/jobs/${id}/result`);
    expect(r.json).toMatchObject({ chunks: '24', sum: String((23 * 24) / 2) });
  });
});
