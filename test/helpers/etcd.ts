import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * A real 3-member etcd cluster on loopback for tests (Debian's etcd-server: /usr/bin/etcd). Each member
 * has its own data dir under one temp dir and ports the kernel picked; members can be killed with
 * SIGKILL and restarted on the same data. Tests that need it call `etcdMissing()`: with CI=true a
 * missing etcd fails the run instead of skipping it.
 */
export const ETCD = process.env.BRAMBLE_ETCD ?? '/usr/bin/etcd';

export function etcdMissing(): string | null {
  if (existsSync(ETCD)) return null;
  const why = `${ETCD} not found (apt-get install -y etcd-server)`;
  if (process.env.CI === 'true') throw new Error(`CI=true and ${why}`);
  return why;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface EtcdMember {
  name: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  proc: ChildProcess | null;
  log: string[];
}

export class EtcdCluster {
  readonly members: EtcdMember[] = [];
  private constructor(
    readonly dir: string,
    /** Another local address every member's client port also listens on (a veth end, for namespaces). */
    readonly alsoOn: string | null = null,
  ) {}

  /** More etcd flags for every member (read at each start, so a restart can change them). */
  extraArgs: string[] = [];

  static async start(size = 3, options: { alsoOn?: string; extraArgs?: string[] } = {}): Promise<EtcdCluster> {
    const c = new EtcdCluster(mkdtempSync(path.join(os.tmpdir(), 'bramble-etcd-')), options.alsoOn ?? null);
    c.extraArgs = options.extraArgs ?? [];
    for (let i = 0; i < size; i++) {
      const [cp, pp] = [await freePort(), await freePort()];
      c.members.push({ name: `m${i}`, clientUrl: `http://127.0.0.1:${cp}`, peerUrl: `http://127.0.0.1:${pp}`, dataDir: path.join(c.dir, `m${i}`), proc: null, log: [] });
    }
    for (let i = 0; i < size; i++) c.spawn(i);
    try {
      await c.waitHealthy();
    } catch (err) {
      c.stop();
      throw new Error(`${(err as Error).message}\n${c.members.map((m) => `${m.name}: ${m.log.join('').slice(-1500)}`).join('\n')}`, { cause: err });
    }
    return c;
  }

  get endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  /** The client URLs on `alsoOn` (what a process in a network namespace dials). */
  get endpointsAlso(): string[] {
    return this.members.map((m) => m.clientUrl.replace('127.0.0.1', this.alsoOn ?? '127.0.0.1'));
  }

  private spawn(i: number): void {
    const m = this.members[i] as EtcdMember;
    const args = [
      '--name', m.name,
      '--data-dir', m.dataDir,
      '--listen-client-urls', this.alsoOn ? `${m.clientUrl},${m.clientUrl.replace('127.0.0.1', this.alsoOn)}` : m.clientUrl,
      '--advertise-client-urls', m.clientUrl,
      '--listen-peer-urls', m.peerUrl,
      '--initial-advertise-peer-urls', m.peerUrl,
      '--initial-cluster', this.members.map((x) => `${x.name}=${x.peerUrl}`).join(','),
      '--initial-cluster-state', 'new',
      '--initial-cluster-token', path.basename(this.dir),
      // loopback: elections in a few hundred ms, not seconds
      '--heartbeat-interval', '50',
      '--election-timeout', '500',
      '--log-level', 'warn',
      ...this.extraArgs,
    ];
    const proc = spawn(ETCD, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d: Buffer): void => {
      m.log.push(d.toString());
      if (m.log.length > 200) m.log.shift();
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    m.proc = proc;
  }

  /** Every running member answers /health with true (quorum present). */
  async waitHealthy(timeoutMs = 30_000, which = this.members.filter((m) => m.proc)): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (const m of which) {
      for (;;) {
        try {
          const r = await fetch(`${m.clientUrl}/health`, { signal: AbortSignal.timeout(1000) });
          const j = (await r.json()) as { health?: string };
          if (j.health === 'true') break;
        } catch {
          /* not up yet */
        }
        if (Date.now() > end) throw new Error(`etcd member ${m.name} not healthy after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /** SIGKILL one member (its data stays). */
  async kill(i: number): Promise<void> {
    const m = this.members[i] as EtcdMember;
    const p = m.proc;
    if (!p) return;
    m.proc = null;
    if (p.exitCode === null && p.signalCode === null) {
      const gone = new Promise((r) => p.once('exit', r));
      p.kill('SIGKILL');
      await gone;
    }
  }

  /** Starts a killed member again on its data dir and waits until it is healthy. */
  async restart(i: number, options: { wait?: boolean } = {}): Promise<void> {
    if ((this.members[i] as EtcdMember).proc) return;
    this.spawn(i);
    // (an armed alarm, NOSPACE, keeps /health false: such a caller disarms it and waits itself)
    if (options.wait !== false) await this.waitHealthy(30_000, [this.members[i] as EtcdMember]);
  }

  /** The member that is the raft leader now. */
  async leaderIndex(): Promise<number> {
    for (let i = 0; i < this.members.length; i++) {
      const m = this.members[i] as EtcdMember;
      if (!m.proc) continue;
      try {
        const r = (await (await fetch(`${m.clientUrl}/v3/maintenance/status`, { method: 'POST', body: '{}' })).json()) as { leader?: string; header?: { member_id?: string } };
        if (r.leader && r.leader === r.header?.member_id) return i;
      } catch {
        /* down */
      }
    }
    return -1;
  }

  stop(): void {
    for (const m of this.members) {
      m.proc?.kill('SIGKILL');
      m.proc = null;
    }
    try {
      rmSync(this.dir, { recursive: true, force: true });
    } catch {
      execFileSync('rm', ['-rf', this.dir]);
    }
  }
}
