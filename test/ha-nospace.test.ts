import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdCluster, etcdMissing } from './helpers/etcd.js';
import type { HeadHandle, Proc } from './helpers/procs.js';
import { api, cleanup, run, startHead, startWorker, tmpDir, waitFor } from './helpers/procs.js';

/**
 * Issue 15: etcd's space quota reached mid-job (a real etcd with a 4 MiB --quota-backend-bytes). The
 * leader holds its commit, hands out no lease, refuses new jobs with a clear error and loses nothing;
 * given space again (a larger quota, the alarm disarmed), the job finishes exactly.
 */
const missing = etcdMissing();
const PI_3E8 = 16_252_325;

interface Ha {
  leader: string | null;
  self: { state: string; etcdNoSpace: boolean };
}
interface Status {
  id: string;
  state: string;
  chunks: { total: number; done: number };
}

describe.skipIf(missing !== null)('HA: etcd out of space', () => {
  let etcd: EtcdCluster;
  const dir = tmpDir('bramble-ha-nospace-');
  const procs: Proc[] = [];
  let head: HeadHandle;
  /** The candidate's /api/ha, or null while it changes role (its HTTP server is replaced then). */
  const ha = async (): Promise<Ha | null> => {
    try {
      const r = await api<Ha>(head, 'GET', '/api/ha');
      return r.status === 200 ? r.json : null;
    } catch {
      return null;
    }
  };

  beforeAll(async () => {
    etcd = await EtcdCluster.start(1, { extraArgs: ['--quota-backend-bytes', String(4 * 2 ** 20)] });
    const init = await run(['init', '--data', dir, '--etcd', etcd.endpoints.join(',')]);
    expect(init.code, init.err).toBe(0);
    head = await startHead(dir, ['--log-level', 'info', '--name', 'solo', '--lease-ms', '3000', '--ha-lease-ttl', '3', '--ha-renew-ms', '2000', '--ha-retry-ms', '300']);
    procs.push(head);
    await waitFor('solo to lead', async () => (await ha())?.self.state === 'leader', 30_000, 100).catch((err: Error) => {
      throw new Error(`${err.message}; head output: ${head.out().slice(-4000)} ${head.err().slice(-2000)}`);
    });
    procs.push(startWorker(head, 'nw1', ['--slots', '2']));
  }, 60_000);

  afterAll(async () => {
    for (const p of procs) await p.kill();
    etcd?.stop();
    cleanup(dir);
  });

  it('NOSPACE mid-job: no lease, no new job, nothing lost; with space again the job finishes exactly', async () => {
    // about 16 MB of primes output into a 4 MiB quota (the estimate at submit counts rows only)
    const sub = await api<Status>(head, 'POST', '/api/jobs', { task: 'primes', start: '1', end: '3e8', chunk: '1e6', params: { list: true } });
    expect(sub.status, JSON.stringify(sub.json)).toBe(201);
    await waitFor('etcd to fill up', async () => (await ha())?.self.etcdNoSpace === true, 120_000, 200);
    expect((await ha())?.self.state).toBe('leader');
    const refused = await api<{ error: { code: string; message: string } }>(head, 'POST', '/api/jobs', { task: 'primes', start: '1', end: '1e6' });
    expect(refused.status).toBe(507);
    expect(refused.json.error.code).toBe('ETCD_NOSPACE');
    expect(refused.json.error.message).toMatch(/etcd is out of space \(alarm NOSPACE\).*etcdctl alarm disarm/);
    const before = (await api<Status>(head, 'GET', `/api/jobs/${sub.json.id}`)).json;
    expect(before.state).toBe('running');
    expect(before.chunks.done).toBeGreaterThan(0);
    expect(before.chunks.done).toBeLessThan(before.chunks.total);
    await new Promise((r) => setTimeout(r, 2500));
    const still = (await api<Status>(head, 'GET', `/api/jobs/${sub.json.id}`)).json;
    expect(still.chunks.done).toBe(before.chunks.done);
    // space again: a larger quota, then the alarm disarmed
    await etcd.kill(0);
    etcd.extraArgs = ['--quota-backend-bytes', String(256 * 2 ** 20)];
    await etcd.restart(0, { wait: false });
    const url = etcd.endpoints[0] as string;
    const alarmCall = async (body: unknown): Promise<{ alarms?: { memberID: string; alarm: string }[] }> =>
      (await (await fetch(`${url}/v3/maintenance/alarm`, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(2000) })).json()) as { alarms?: { memberID: string; alarm: string }[] };
    const alarms = await waitFor('the restarted member to list its alarms', async () => {
      try {
        return await alarmCall({ action: 'GET' });
      } catch {
        return null;
      }
    }, 30_000, 200);
    expect(alarms.alarms?.map((a) => a.alarm)).toEqual(['NOSPACE']);
    for (const a of alarms.alarms ?? []) await alarmCall({ action: 'DEACTIVATE', memberID: a.memberID, alarm: a.alarm });
    await etcd.waitHealthy();
    // (etcd was restarted: the candidate may have been demoted and elected again, its HTTP server replaced)
    const end = await waitFor('the job to finish', async () => {
      const st = await api<Status>(head, 'GET', `/api/jobs/${sub.json.id}`).catch(() => null);
      return st?.status === 200 && st.json.state !== 'running' && st.json.state !== 'queued' ? st.json : null;
    }, 180_000, 200);
    expect(end.state).toBe('done');
    const r = await api<{ count: string }>(head, 'GET', `/api/jobs/${sub.json.id}/result`);
    expect(Number(r.json.count)).toBe(PI_3E8);
  }, 300_000);
});
