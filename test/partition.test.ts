import { execFileSync, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HeadHandle, Proc } from './helpers/procs.js';
import { BIN, api, cleanup, startHead, startWorker, tmpDir, waitFor } from './helpers/procs.js';

/**
 * A worker in its own network namespace, cut off from the head by taking the veth link down for
 * longer than its lease, then healed. Needs root and iproute2: under CI=true their absence fails.
 */
const NS = `bpart${process.pid % 10000}`;
const HOST_IF = `bph${process.pid % 10000}`;
const NS_IF = `bpw${process.pid % 10000}`;
const HEAD_IP = '10.231.0.1';
const WORKER_IP = '10.231.0.2';

function can(): string | null {
  if (process.getuid?.() !== 0) return 'needs root';
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
  } catch {
    return 'needs iproute2 (ip)';
  }
  return null;
}
const missing = can();
if (missing && process.env['CI'] === 'true') {
  describe('network partition', () => {
    it('has what it needs', () => {
      throw new Error(`the partition test ${missing} (CI=true)`);
    });
  });
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: 'pipe' });
}

describe.skipIf(missing !== null)('network partition', () => {
  const procs: Proc[] = [];
  let dir = '';
  beforeAll(() => {
    try {
      ip('netns', 'del', NS);
    } catch {
      /* not there */
    }
    ip('netns', 'add', NS);
    ip('link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', NS_IF);
    ip('link', 'set', NS_IF, 'netns', NS);
    ip('addr', 'add', `${HEAD_IP}/24`, 'dev', HOST_IF);
    ip('link', 'set', HOST_IF, 'up');
    ip('netns', 'exec', NS, 'ip', 'addr', 'add', `${WORKER_IP}/24`, 'dev', NS_IF);
    ip('netns', 'exec', NS, 'ip', 'link', 'set', NS_IF, 'up');
    ip('netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up');
  });
  afterAll(async () => {
    for (const p of procs) await p.kill();
    try {
      ip('link', 'del', HOST_IF);
    } catch {
      /* gone with the namespace */
    }
    try {
      ip('netns', 'del', NS);
    } catch {
      /* already gone */
    }
    if (dir) cleanup(dir);
  });

  it('re-leases a partitioned worker’s chunks; after healing it rejoins and its late results are dropped', async () => {
    dir = tmpDir();
    const env = { BRAMBLE_FIXTURES: '1' };
    const head: HeadHandle = await startHead(dir, ['--bind', '0.0.0.0', '--lease-ms', '1500', '--telemetry-ms', '300', '--stale-ms', '1000', '--lost-ms', '60000'], undefined, env);
    procs.push(head);
    // the worker in the namespace reaches the head at the veth address
    const child = spawn('ip', ['netns', 'exec', NS, process.execPath, BIN, 'worker', '--head', `${HEAD_IP}:${head.port}`, '--data', dir, '--name', 'island', '--instance', '999', '--slots', '2', '--log-level', 'warn'], {
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
    ip('link', 'set', HOST_IF, 'down'); // the partition
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
    ip('link', 'set', HOST_IF, 'up'); // healed
    await waitFor('the island to rejoin', async () => (await api<{ state: string }>(head, 'GET', `/api/nodes/${encodeURIComponent(islandId)}`)).json.state === 'ready', 60_000, 200);
    await waitFor('its late results to be dropped as duplicates', async () => (await api<{ ledger: { duplicates: number } }>(head, 'GET', '/api/stats')).json.ledger.duplicates >= 1, 60_000, 200);
    const r = await api<{ chunks: string; sum: string }>(head, 'GET', `/api/jobs/${id}/result`);
    expect(r.json).toMatchObject({ chunks: '24', sum: String((23 * 24) / 2) });
  });
});
