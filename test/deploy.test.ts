import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseHostFile } from '../src/deploy/host-list.js';
import type { HeadHandle, Proc } from './helpers/procs.js';
import { api, bramble, cleanup, freePort, run, startHead, tmpDir, waitFor, waitJob } from './helpers/procs.js';
import type { LabSshd, LabUser } from './helpers/sshd.js';
import { SshLab, missingTools } from './helpers/sshd.js';

/**
 * `bramble deploy` against real OpenSSH servers started here: three hosts in network namespaces (each its
 * own address, host key and user; one logs in with a password), plus failures: a host that is down, one
 * whose key differs from known_hosts, one whose user has no Node.js on PATH. The head listens on the
 * namespaces' bridge; the deployed workers join it and compute a job.
 */
const missing = missingTools();
if (missing.length > 0 && process.env['CI'] === 'true') throw new Error(`deploy tests need ${missing.join(', ')} (apt-get install openssh-server iproute2 passwd; run as root)`);

interface NodeRow {
  id: string;
  name: string;
  state: string;
}

const PASSWORD = 'bramble-test-pw-1';

describe.skipIf(missing.length > 0)('bramble deploy over SSH', () => {
  let lab: SshLab;
  let head: HeadHandle;
  let dir: string;
  let work: string;
  const good: { user: LabUser; sshd: LabSshd; entry: string }[] = [];
  let nn: LabUser;
  let loop: LabSshd;
  let downPort: number;
  let knownHosts: string;
  const procs: Proc[] = [];

  const deployArgs = (hostsFile: string, extra: string[] = []): string[] => [
    '--hosts', hostsFile, '--identity', lab.clientKey, '--password-env', 'BDEP_PW', '--no-agent', '--known-hosts', knownHosts,
    '--data', dir, '--failed', path.join(work, 'failed-hosts.txt'), '--join-timeout', '60', ...extra,
  ];
  const env = { BDEP_PW: PASSWORD, BRAMBLE_DATA: '/nonexistent-bramble-data' };

  async function nodes(): Promise<NodeRow[]> {
    return (await api<{ nodes: NodeRow[] }>(head, 'GET', '/api/nodes')).json.nodes;
  }

  /** name -> pid of the ready worker with that name (pid from the head's node detail). */
  async function readyPids(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const n of (await nodes()).filter((x) => x.state === 'ready')) out.set(n.name, (await api<{ pid: number }>(head, 'GET', `/api/nodes/${encodeURIComponent(n.id)}`)).json.pid);
    return out;
  }

  const names = (): string[] => good.flatMap((g) => [1, 2].map((i) => `${g.sshd.address}-${i}`)).sort();

  beforeAll(async () => {
    lab = new SshLab();
    work = tmpDir('bdep-work-');
    dir = path.join(work, 'head');
    const init = await run(['init', '--data', dir, '--san', lab.gateway]);
    expect(init.code, init.err).toBe(0);
    // three hosts with addresses of their own
    for (const [i, short] of [[11, 'h1'], [12, 'h2'], [13, 'h3']] as const) {
      const user = lab.addUser(short, short === 'h2' ? { password: PASSWORD } : {});
      const ns = lab.addNamespace(i);
      const sshd = await lab.startSshd(short, { users: [user], ns, password: short === 'h2' });
      good.push({ user, sshd, entry: `${user.name}@${sshd.address}` });
    }
    // on loopback: port A has a key that differs from known_hosts, port B's user has no node on PATH
    nn = lab.addUser('nn');
    const [pA, pB] = [await freePort(), await freePort()];
    loop = await lab.startSshd('loop', { users: [nn], ports: [pA, pB], setEnv: 'PATH=/nonexistent' });
    downPort = await freePort();
    knownHosts = path.join(work, 'known_hosts');
    const wrongKey = good[0]!.sshd.hostKey; // h1's key, recorded for the loopback host
    writeFileSync(
      knownHosts,
      [
        '# test known_hosts: h3 is missing on purpose',
        `${good[0]!.sshd.address} ${good[0]!.sshd.hostKey}`,
        `${good[1]!.sshd.address} ${good[1]!.sshd.hostKey}`,
        `[127.0.0.1]:${pA} ${wrongKey}`,
        `[127.0.0.1]:${pB} ${loop.hostKey}`,
        '',
      ].join('\n'),
    );
    writeFileSync(path.join(work, 'good.txt'), `# three Pis\n${good[0]!.entry}\n\n${good[1]!.entry}   # logs in with a password\n${good[2]!.entry}\n`);
    writeFileSync(path.join(work, 'mixed.txt'), [...good.map((g) => g.entry), `${nn.name}@127.0.0.1:${downPort}`, `${nn.name}@127.0.0.1:${pA}`, `${nn.name}@127.0.0.1:${pB}`, ''].join('\n'));
    head = await startHead(dir, ['--bind', lab.gateway]);
    procs.push(head);
  }, 120_000);

  afterAll(async () => {
    for (const p of procs) await p.kill();
    await lab?.cleanup();
    if (work) cleanup(work);
  }, 60_000);

  it('deploys 2 instances to each of 3 hosts: all 6 join the head and compute a job', async () => {
    const t0 = Date.now();
    const r = await run(['deploy', ...deployArgs(path.join(work, 'good.txt'), ['--instances', '2', '--slots', '1', '--accept-new'])], env);
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toContain('deployed: 6 worker instances on 3 hosts (6 started or restarted, 0 already running)');
    expect(r.out).toMatch(new RegExp(`recorded new host key: ${good[2]!.user.name}@${good[2]!.sshd.address.replaceAll('.', '\\.')}:22 SHA256:`));
    expect(readFileSync(knownHosts, 'utf8')).toContain(`${good[2]!.sshd.address} ${good[2]!.sshd.hostKey}`);
    expect(readFileSync(path.join(work, 'failed-hosts.txt'), 'utf8')).toMatch(/^# bramble deploy .*: 0 of 3 hosts failed\n$/);
    const ready = (await nodes()).filter((n) => n.state === 'ready').map((n) => n.name).sort();
    expect(ready).toEqual(names());
    for (const g of good) {
      const cfg = path.join(g.user.home, '.bramble-worker', 'worker.json');
      const st = statSync(cfg);
      expect(st.mode & 0o777).toBe(0o600);
      expect(st.uid).toBe(g.user.uid);
      expect(JSON.parse(readFileSync(cfg, 'utf8'))).toMatchObject({ head: `${lab.gateway}:${head.port}`, join: expect.stringMatching(/^bramble1\./) as unknown });
      expect(existsSync(path.join(g.user.home, '.bramble-worker', 'logs', 'worker-2.log'))).toBe(true);
    }
    console.log(`first deploy to 3 hosts: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const job = await api<{ id: string }>(head, 'POST', '/api/jobs', { task: 'primes', start: '1', end: '2e7', chunk: '5e5' });
    expect(job.status).toBe(201);
    const st = await waitJob(head, job.json.id, 120_000, 250);
    expect(st.state).toBe('done');
    const res = await api<Record<string, unknown>>(head, 'GET', `/api/jobs/${job.json.id}/result`);
    expect(res.json).toMatchObject({ count: '1270607', last: '19999999' });
  });

  it('deploying again changes nothing: no restart, same pids, nothing copied', async () => {
    const before = await readyPids();
    expect(before.size).toBe(6);
    const r = await run(['deploy', ...deployArgs(path.join(work, 'good.txt'), ['--instances', '2', '--slots', '1'])], env);
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toContain('deployed: 6 worker instances on 3 hosts (0 started or restarted, 6 already running)');
    expect(r.err).toContain('already there');
    expect(r.err).not.toContain('copied');
    expect(await readyPids()).toEqual(before);
  });

  it('reports a host that is down, one with a changed host key and one without Node, deploys the rest, exits 1', async () => {
    const before = await readyPids();
    const failedFile = path.join(work, 'failed-hosts.txt');
    const r = await run(['deploy', ...deployArgs(path.join(work, 'mixed.txt'), ['--instances', '2', '--slots', '1'])], env);
    expect(r.code, r.out + r.err).toBe(1);
    expect(r.out).toContain('deployed: 6 worker instances on 3 hosts (0 started or restarted, 6 already running)');
    expect(r.out).toContain(`failed: 3 hosts (listed in ${failedFile}; retry with: bramble deploy --hosts ${failedFile})`);
    const [pA, pB] = loop.ports;
    expect(r.out).toMatch(new RegExp(`127\\.0\\.0\\.1:${downPort} +connect +connection refused on port ${downPort} .*\\(after 3 tries\\)`));
    expect(r.out).toMatch(new RegExp(`127\\.0\\.0\\.1:${pA} +connect +HOST KEY CHANGED for \\[127\\.0\\.0\\.1\\]:${pA}`));
    expect(r.out).toMatch(new RegExp(`127\\.0\\.0\\.1:${pB} +check +Node\\.js not found on the host \\(PATH=/nonexistent\\)`));
    // the failed-hosts file is a host file of exactly those three
    const failed = parseHostFile(readFileSync(failedFile, 'utf8'));
    expect(failed).toEqual([
      { user: nn.name, host: '127.0.0.1', port: downPort },
      { user: nn.name, host: '127.0.0.1', port: pA },
      { user: nn.name, host: '127.0.0.1', port: pB },
    ]);
    expect(await readyPids()).toEqual(before);
    // a changed key is never recorded over
    expect(readFileSync(knownHosts, 'utf8')).not.toContain(`[127.0.0.1]:${pA} ${loop.hostKey}`);
  });

  it('a worker instance refuses to start twice and names the process holding it', async () => {
    const wdir = path.join(work, 'lockdir');
    const token = (await run(['token', '--data', dir])).out.trim().split('\n').pop() as string;
    const args = ['worker', '--head', `${lab.gateway}:${head.port}`, '--join', token, '--data', wdir, '--instance', '7', '--slots', '1', '--name', 'lock-test', '--log-level', 'warn'];
    const first = bramble(args);
    procs.push(first);
    await waitFor('lock-test to join', async () => (await nodes()).some((n) => n.name === 'lock-test' && n.state === 'ready'));
    const second = await run(args);
    expect(second.code).not.toBe(0);
    expect(second.err).toContain(`worker instance 7 is already running for ${wdir}: process ${first.child.pid ?? -1} holds its lock`);
    await first.kill('SIGKILL');
    // the kernel drops the lock with the process: a new one starts at once
    const third = bramble(args);
    procs.push(third);
    await waitFor('a new lock-test', async () => (await nodes()).filter((n) => n.name === 'lock-test' && n.state === 'ready').length >= 1 && third.child.exitCode === null);
    await third.kill('SIGTERM');
  });

  it('undeploy stops the workers and leaves nothing behind', async () => {
    const r = await run(['undeploy', ...deployArgs(path.join(work, 'good.txt')).filter((a, i, all) => a !== '--join-timeout' && all[i - 1] !== '--join-timeout')], env);
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toContain('undeployed: 3 hosts');
    for (const g of good) {
      expect(existsSync(path.join(g.user.home, '.bramble-worker'))).toBe(false);
      await waitFor(`no processes of ${g.user.name}`, () => lab.pidsOf(g.user).length === 0, 10_000);
    }
    await waitFor('the workers to leave', async () => (await nodes()).filter((n) => names().includes(n.name) && n.state === 'ready').length === 0, 20_000);
  });
});

describe('bramble service on this machine (supervised)', () => {
  let work: string;
  let head: HeadHandle;
  const svcDir = (): string => path.join(work, 'svc');
  afterAll(async () => {
    if (work) await run(['service', 'uninstall', '--dir', svcDir()]);
    await head?.kill();
    if (work) cleanup(work);
  }, 60_000);

  interface Status {
    services: { key: string; state: string; pid: number | null; supervisorPid: number | null }[];
  }
  const status = async (): Promise<Status['services']> => (JSON.parse((await run(['service', 'status', '--dir', svcDir(), '--data', path.join(work, 'none'), '--json'])).out) as Status).services;

  it('installs 2 worker instances, keeps them running across a crash, changes nothing when run again, uninstalls', async () => {
    work = tmpDir('bdep-svc-');
    const dir = path.join(work, 'head');
    expect((await run(['init', '--data', dir])).code).toBe(0);
    head = await startHead(dir);
    const install = ['service', 'install', 'worker', '--dir', svcDir(), '--data', dir, '--head', `127.0.0.1:${head.port}`, '--instances', '2', '--slots', '1', '--name', 'svc', '--mode', 'supervised', '--json'];
    const r1 = await run(install);
    expect(r1.code, r1.err).toBe(0);
    const res1 = JSON.parse(r1.out) as { mode: string; processes: { key: string; action: string; pid: number }[] };
    expect(res1.mode).toBe('supervised');
    expect(res1.processes.map((p) => `${p.key} ${p.action}`)).toEqual(['worker-1 started', 'worker-2 started']);
    expect(statSync(path.join(svcDir(), 'worker.json')).mode & 0o777).toBe(0o600);
    await waitFor('svc-1 and svc-2 to join', async () => (await api<{ nodes: NodeRow[] }>(head, 'GET', '/api/nodes')).json.nodes.filter((n) => n.name.startsWith('svc-') && n.state === 'ready').length === 2);
    const st1 = await status();
    expect(st1.map((s) => `${s.key} ${s.state}`)).toEqual(['worker-1 running', 'worker-2 running']);
    // a crash: the supervisor starts it again
    const victim = st1[0]!.pid as number;
    process.kill(victim, 'SIGKILL');
    await waitFor('worker-1 to be back with a new pid', async () => {
      const s = (await status())[0]!;
      return s.state === 'running' && s.pid !== victim;
    }, 20_000);
    // again: nothing restarted
    const pids = (await status()).map((s) => s.pid);
    const r2 = await run(install);
    expect(r2.code, r2.err).toBe(0);
    expect((JSON.parse(r2.out) as typeof res1).processes.map((p) => `${p.key} ${p.action}`)).toEqual(['worker-1 unchanged', 'worker-2 unchanged']);
    expect((await status()).map((s) => s.pid)).toEqual(pids);
    // one instance fewer: worker-2 goes
    const r3 = await run(install.map((a) => (a === '2' ? '1' : a)));
    expect((JSON.parse(r3.out) as typeof res1).processes.map((p) => `${p.key} ${p.action}`)).toEqual(['worker-1 unchanged', 'worker-2 removed']);
    const un = await run(['service', 'uninstall', '--dir', svcDir(), '--json']);
    expect(un.code, un.err).toBe(0);
    expect(await status()).toEqual([]);
    expect(existsSync(path.join(svcDir(), 'worker.json'))).toBe(false);
    for (const pid of pids) expect(() => process.kill(pid as number, 0)).toThrow();
  });
});

/**
 * systemd mode without systemd: a stand-in `systemctl` on PATH that runs a unit's ExecStart (with %i)
 * and answers is-active / show MainPID, so the unit file bramble writes is really executed.
 */
const FAKE_SYSTEMCTL = `#!/bin/sh
S="$FAKE_SYSTEMD_STATE"; mkdir -p "$S"; echo "$*" >> "$S/calls"
unit() { for a in "$@"; do case "$a" in *.service) echo "$a";; esac; done; }
U=$(unit "$@"); P="$S/$U.pid"
alive() { [ -f "$P" ] && kill -0 "$(cat "$P")" 2>/dev/null; }
stop() { if alive; then pid=$(cat "$P"); kill -TERM "$pid"; while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done; fi; rm -f "$P"; }
case "$1" in
  daemon-reload) ;;
  enable) touch "$S/$U.enabled" ;;
  restart)
    stop
    inst=\${U#*@}; inst=\${inst%.service}; tpl="$BRAMBLE_SYSTEMD_DIR/\${U%%@*}@.service"
    cmd=$(sed -n 's/^ExecStart=//p' "$tpl" | sed "s/%i/$inst/g")
    nohup $cmd >> "$S/$U.log" 2>&1 &
    echo $! > "$P" ;;
  is-active) if alive; then echo active; else echo inactive; exit 3; fi ;;
  show) if alive; then cat "$P"; else echo 0; fi ;;
  disable) stop; rm -f "$S/$U.enabled" ;;
  status) echo "$U"; tail -n 5 "$S/$U.log" 2>/dev/null ;;
esac
`;

describe.skipIf(process.platform !== 'linux' || process.getuid?.() !== 0)('bramble service with systemd units (stand-in systemctl)', () => {
  let work: string;
  let head: HeadHandle;
  afterAll(async () => {
    await head?.kill();
    if (work) cleanup(work);
  }, 60_000);

  it('writes bramble-worker@.service, starts instances through it, leaves them alone when run again, removes it', async () => {
    work = tmpDir('bdep-sysd-');
    const dir = path.join(work, 'head');
    expect((await run(['init', '--data', dir])).code).toBe(0);
    head = await startHead(dir);
    const bin = path.join(work, 'bin');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(bin);
    writeFileSync(path.join(bin, 'systemctl'), FAKE_SYSTEMCTL, { mode: 0o755 });
    const units = path.join(work, 'units');
    mkdirSync(units);
    const sysEnv = { PATH: `${bin}:${process.env['PATH'] ?? ''}`, BRAMBLE_SYSTEMD_DIR: units, FAKE_SYSTEMD_STATE: path.join(work, 'state') };
    const svc = path.join(work, 'svc');
    const install = ['service', 'install', 'worker', '--dir', svc, '--data', dir, '--instances', '2', '--slots', '1', '--name', 'sysd', '--json'];
    const r1 = await run(install, sysEnv);
    expect(r1.code, r1.out + r1.err).toBe(0);
    const res1 = JSON.parse(r1.out) as { mode: string; processes: { key: string; action: string; pid: number }[] };
    expect(res1.mode).toBe('systemd');
    expect(res1.processes.map((p) => `${p.key} ${p.action}`)).toEqual(['worker-1 started', 'worker-2 started']);
    const unit = readFileSync(path.join(units, 'bramble-worker@.service'), 'utf8');
    expect(unit).toContain(` worker --data ${svc} --config ${path.join(svc, 'worker.json')} --instance %i --name sysd-%i\n`);
    expect(unit).toContain('User=0\n');
    await waitFor('sysd-1 and sysd-2 to join', async () => (await api<{ nodes: NodeRow[] }>(head, 'GET', '/api/nodes')).json.nodes.filter((n) => n.name.startsWith('sysd-') && n.state === 'ready').length === 2);
    const r2 = await run(install, sysEnv);
    expect((JSON.parse(r2.out) as typeof res1).processes.map((p) => `${p.key} ${p.action} ${p.pid}`)).toEqual(res1.processes.map((p) => `${p.key} unchanged ${p.pid}`));
    const un = await run(['service', 'uninstall', '--dir', svc, '--json'], sysEnv);
    expect(un.code, un.err).toBe(0);
    expect(existsSync(path.join(units, 'bramble-worker@.service'))).toBe(false);
    for (const p of res1.processes) expect(() => process.kill(p.pid, 0)).toThrow();
    const calls = readFileSync(path.join(work, 'state', 'calls'), 'utf8');
    expect(calls).toContain('enable bramble-worker@1.service\nrestart bramble-worker@1.service\n');
    expect(calls).toContain('disable --now bramble-worker@2.service\n');
  });
});
