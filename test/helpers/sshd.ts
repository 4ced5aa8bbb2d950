import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/**
 * Real OpenSSH servers for deploy tests: each "host" is a user of its own (so installs do not collide on
 * this one filesystem) behind an sshd of its own, with its own host key, either on a loopback port or
 * inside a network namespace with an address of its own on a bridge (10.77.X.0/24) that the head also
 * listens on. Needs root, sshd, ip, useradd, ssh-keygen.
 */
export const TOOLS = ['/usr/sbin/sshd', 'ip', 'useradd', 'userdel', 'ssh-keygen', 'tar'];

export function missingTools(): string[] {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root');
  for (const t of TOOLS) {
    try {
      execFileSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' });
    } catch {
      missing.push(t);
    }
  }
  return missing;
}

function sh(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], input });
}

export interface LabUser {
  name: string;
  home: string;
  uid: number;
  gid: number;
}

export interface LabSshd {
  name: string;
  /** How deploy reaches it. */
  address: string;
  ports: number[];
  /** `type base64` of its host key. */
  hostKey: string;
  ns: string | null;
  proc: ChildProcess;
  log: () => string;
}

async function waitBanner(address: string, port: number, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: address, port });
      s.setTimeout(1000);
      s.once('data', (d: Buffer) => {
        s.destroy();
        resolve(d.toString().startsWith('SSH-'));
      });
      s.once('error', () => resolve(false));
      s.once('timeout', () => {
        s.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`sshd on ${address}:${port} did not come up`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export class SshLab {
  readonly dir: string;
  readonly tag: string;
  readonly subnet: number;
  readonly bridge: string;
  readonly gateway: string;
  readonly clientKey: string;
  readonly clientPub: string;
  private readonly users: LabUser[] = [];
  private readonly servers: LabSshd[] = [];
  private readonly namespaces: string[] = [];
  private bridgeUp = false;
  private madeRunSshd = false;

  constructor() {
    this.tag = `bdep${process.pid.toString(36)}`;
    this.dir = mkdtempSync('/tmp/bdep-lab-');
    chmodSync(this.dir, 0o755); // users must reach their homes below it
    const used = sh('ip', ['-4', '-o', 'addr']);
    let subnet = 100 + (process.pid % 150);
    while (used.includes(`10.77.${subnet}.`)) subnet = 100 + ((subnet - 99) % 150);
    this.subnet = subnet;
    this.bridge = `bdb${process.pid.toString(36)}`;
    this.gateway = `10.77.${subnet}.1`;
    this.clientKey = path.join(this.dir, 'client_ed25519');
    sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'bramble-test', '-f', this.clientKey]);
    this.clientPub = readFileSync(`${this.clientKey}.pub`, 'utf8');
    if (!existsSync('/run/sshd')) {
      mkdirSync('/run/sshd', { mode: 0o755 });
      this.madeRunSshd = true;
    }
  }

  /** A user with a home of its own under the lab dir and the lab's client key authorised. */
  addUser(short: string, o: { password?: string } = {}): LabUser {
    const name = `${this.tag}${short}`.slice(0, 31);
    const home = path.join(this.dir, 'home', name);
    mkdirSync(path.dirname(home), { recursive: true, mode: 0o755 });
    sh('useradd', ['-m', '-d', home, '-s', '/bin/sh', '-K', 'MAIL_DIR=/nonexistent', name]);
    // a locked account ('!') is refused by sshd even for keys
    if (o.password !== undefined) sh('chpasswd', [], `${name}:${o.password}\n`);
    else sh('usermod', ['-p', '*', name]);
    const uid = Number(sh('id', ['-u', name]).trim());
    const gid = Number(sh('id', ['-g', name]).trim());
    const user = { name, home, uid, gid };
    this.users.push(user);
    if (o.password === undefined) {
      mkdirSync(path.join(home, '.ssh'), { mode: 0o700 });
      writeFileSync(path.join(home, '.ssh', 'authorized_keys'), this.clientPub, { mode: 0o600 });
      chownSync(path.join(home, '.ssh'), uid, gid);
      chownSync(path.join(home, '.ssh', 'authorized_keys'), uid, gid);
    }
    return user;
  }

  private ensureBridge(): void {
    if (this.bridgeUp) return;
    sh('ip', ['link', 'add', this.bridge, 'type', 'bridge']);
    this.bridgeUp = true;
    sh('ip', ['addr', 'add', `${this.gateway}/24`, 'dev', this.bridge]);
    sh('ip', ['link', 'set', this.bridge, 'up']);
  }

  /** A network namespace on the lab bridge with address 10.77.X.<n>. */
  addNamespace(n: number): { ns: string; address: string } {
    this.ensureBridge();
    const ns = `${this.tag}n${n}`;
    const veth = `bdv${process.pid.toString(36)}${n}`;
    const peer = `bdp${process.pid.toString(36)}${n}`;
    const address = `10.77.${this.subnet}.${n}`;
    sh('ip', ['netns', 'add', ns]);
    this.namespaces.push(ns);
    sh('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', peer]);
    sh('ip', ['link', 'set', peer, 'netns', ns]);
    sh('ip', ['link', 'set', veth, 'master', this.bridge, 'up']);
    const inNs = (...args: string[]): string => sh('ip', ['netns', 'exec', ns, ...args]);
    inNs('ip', 'addr', 'add', `${address}/24`, 'dev', peer);
    inNs('ip', 'link', 'set', peer, 'up');
    inNs('ip', 'link', 'set', 'lo', 'up');
    inNs('ip', 'route', 'add', 'default', 'via', this.gateway);
    return { ns, address };
  }

  /** Starts `sshd -D` for some users, in a namespace (port 22) or on loopback ports. */
  async startSshd(name: string, o: { users: LabUser[]; ns?: { ns: string; address: string }; ports?: number[]; password?: boolean; setEnv?: string }): Promise<LabSshd> {
    const key = path.join(this.dir, `hostkey_${name}`);
    sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `host-${name}`, '-f', key]);
    const hostKey = readFileSync(`${key}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
    const address = o.ns ? o.ns.address : '127.0.0.1';
    const ports = o.ports ?? [22];
    const cfg = path.join(this.dir, `sshd_${name}.conf`);
    writeFileSync(
      cfg,
      [
        ...ports.map((p) => `Port ${p}`),
        `ListenAddress ${address}`,
        `HostKey ${key}`,
        'PidFile none',
        'UsePAM no',
        'StrictModes no',
        'PubkeyAuthentication yes',
        `PasswordAuthentication ${o.password ? 'yes' : 'no'}`,
        'KbdInteractiveAuthentication no',
        'PermitRootLogin no',
        `AllowUsers ${o.users.map((u) => u.name).join(' ')}`,
        'AuthorizedKeysFile .ssh/authorized_keys',
        'MaxStartups 100',
        'LogLevel VERBOSE',
        ...(o.setEnv ? [`SetEnv ${o.setEnv}`] : []),
        '',
      ].join('\n'),
    );
    const argv = ['/usr/sbin/sshd', '-D', '-e', '-f', cfg];
    const proc = o.ns ? spawn('ip', ['netns', 'exec', o.ns.ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] }) : spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    proc.stdout?.on('data', (d: Buffer) => (log += d.toString()));
    proc.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    const server: LabSshd = { name, address, ports, hostKey, ns: o.ns?.ns ?? null, proc, log: () => log };
    this.servers.push(server);
    for (const p of ports) await waitBanner(address, p).catch((err: Error) => {
      throw new Error(`${err.message}: ${log}`);
    });
    return server;
  }

  /** The pids of a user's processes (to check nothing is left, and to clean up by pid). */
  pidsOf(user: LabUser): number[] {
    const out: number[] = [];
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${d}/status`, 'utf8'))?.[1];
        if (Number(uid) === user.uid) out.push(Number(d));
      } catch {
        /* exited meanwhile */
      }
    }
    return out;
  }

  async cleanup(): Promise<void> {
    for (const s of this.servers) if (s.proc.exitCode === null) s.proc.kill('SIGTERM');
    for (const u of this.users) {
      for (const pid of this.pidsOf(u)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    await new Promise((r) => setTimeout(r, 300));
    for (const u of this.users) {
      try {
        sh('userdel', ['-r', '-f', u.name]);
      } catch {
        /* already gone */
      }
    }
    for (const ns of this.namespaces) {
      try {
        sh('ip', ['netns', 'del', ns]);
      } catch {
        /* already gone */
      }
    }
    if (this.bridgeUp) {
      try {
        sh('ip', ['link', 'del', this.bridge]);
      } catch {
        /* already gone */
      }
    }
    if (this.madeRunSshd) rmSync('/run/sshd', { recursive: true, force: true });
    rmSync(this.dir, { recursive: true, force: true });
  }
}
