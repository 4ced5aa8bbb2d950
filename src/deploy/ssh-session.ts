import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { AnyAuthMethod, Client, ClientChannel, ConnectConfig } from 'ssh2';
import { InputError } from '../core/index.js';
import { DeployError, HostKeyError } from './errors.js';
import type { KnownHosts } from './known-hosts.js';
import { fingerprint, hostKeyAlgorithms, keyTypeOf, knownHostName } from './known-hosts.js';

/** Quotes a word for a POSIX shell. */
export function shq(s: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export interface Identity {
  file: string;
  key: Buffer;
}

/** How to log in: keys, the agent, a password (from an environment variable, never a flag). */
export interface Credentials {
  identities: Identity[];
  agent?: string;
  password?: string;
}

export interface SshTarget {
  host: string;
  port: number;
  user: string;
}

export interface SshOptions {
  knownHosts: KnownHosts;
  acceptNew: boolean;
  credentials: Credentials;
  /** TCP connect and SSH handshake, each (ms). */
  timeoutMs: number;
  /** Called when an unknown key is accepted and recorded (`--accept-new`). */
  onAccepted?: (target: SshTarget, fp: string) => void;
}

/** Private keys to offer when none is named: the ones `ssh` tries by default, when they exist and are not encrypted. */
export async function defaultIdentities(): Promise<Identity[]> {
  const { utils } = (await import('ssh2')).default;
  const out: Identity[] = [];
  for (const name of ['id_ed25519', 'id_ecdsa', 'id_rsa']) {
    const file = path.join(os.homedir(), '.ssh', name);
    if (!existsSync(file)) continue;
    const key = readFileSync(file);
    if (!(utils.parseKey(key) instanceof Error)) out.push({ file, key });
  }
  return out;
}

/** Reads `--identity FILE` (an encrypted key needs ssh-agent). */
export async function loadIdentity(file: string): Promise<Identity> {
  const { utils } = (await import('ssh2')).default;
  let key: Buffer;
  try {
    key = readFileSync(file);
  } catch (err) {
    throw new InputError('--identity', `--identity: cannot read ${file}: ${(err as Error).message}`);
  }
  const parsed = utils.parseKey(key);
  if (parsed instanceof Error) {
    const encrypted = /encrypted|passphrase/i.test(parsed.message);
    throw new InputError('--identity', encrypted ? `--identity: ${file} is encrypted: add it to ssh-agent (\`ssh-add ${file}\`) and leave out --identity` : `--identity: ${file} is not a private key bramble can read: ${parsed.message}`);
  }
  return { file, key };
}

function tcpConnect(host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new DeployError('connect', `no answer from port ${port} within ${Math.round(timeoutMs / 1000)} s (host down or unreachable?)`));
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      resolve(sock);
    });
    sock.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const why: Record<string, string> = {
        ECONNREFUSED: `connection refused on port ${port} (host up, no SSH server there?)`,
        EHOSTUNREACH: 'host unreachable (down, or not on this network?)',
        ENETUNREACH: 'network unreachable',
        ETIMEDOUT: 'connection timed out (host down?)',
        ENOTFOUND: `no such host name (DNS lookup of ${host} failed)`,
        EAI_AGAIN: `cannot resolve ${host} right now (DNS)`,
        ECONNRESET: 'connection reset',
      };
      reject(new DeployError('connect', why[err.code ?? ''] ?? err.message, { cause: err, retryable: err.code !== 'ENOTFOUND' }));
    });
  });
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** One SSH connection to one host, with host-key checking against known_hosts. */
export class SshSession {
  private constructor(
    private readonly client: Client,
    readonly target: SshTarget,
    /** This machine's address on the connection: how the host reaches us. */
    readonly localAddress: string,
    readonly hostKeyFingerprint: string,
  ) {}

  static async connect(target: SshTarget, o: SshOptions): Promise<SshSession> {
    const ssh2 = (await import('ssh2')).default;
    const sock = await tcpConnect(target.host, target.port, o.timeoutMs);
    const localAddress = (sock.localAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
    const name = knownHostName(target.host, target.port);
    const types = o.knownHosts.typesFor(target.host, target.port);
    let keyProblem: HostKeyError | null = null;
    let seenFp = '';
    const verify = (key: Buffer): boolean => {
      seenFp = fingerprint(key);
      const st = o.knownHosts.check(target.host, target.port, key);
      if (st.status === 'known') return true;
      if (st.status === 'unknown') {
        if (!o.acceptNew) {
          keyProblem = new HostKeyError(`unknown host key ${keyTypeOf(key)} ${seenFp} for ${name}: not in ${o.knownHosts.file}; check it and pass --accept-new to record it`);
          return false;
        }
        o.knownHosts.add(target.host, target.port, key);
        o.onAccepted?.(target, seenFp);
        return true;
      }
      if (st.status === 'revoked') keyProblem = new HostKeyError(`host key ${seenFp} of ${name} is marked @revoked in ${o.knownHosts.file} line ${st.line}`);
      else
        keyProblem = new HostKeyError(
          `HOST KEY CHANGED for ${name}: it presented ${keyTypeOf(key)} ${seenFp}, ${o.knownHosts.file} line ${st.lines.join(', ')} has ${st.expected.join(', ')}; ` +
            `someone may be intercepting the connection. If the host was reinstalled: ssh-keygen -R '${name}' -f ${o.knownHosts.file}`,
        );
      return false;
    };
    const methods: AnyAuthMethod[] = [];
    const tried: string[] = [];
    for (const id of o.credentials.identities) {
      methods.push({ type: 'publickey', username: target.user, key: id.key });
      tried.push(`key ${id.file}`);
    }
    if (o.credentials.agent) {
      methods.push({ type: 'agent', username: target.user, agent: o.credentials.agent });
      tried.push('ssh-agent');
    }
    if (o.credentials.password !== undefined) {
      const password = o.credentials.password;
      methods.push({ type: 'password', username: target.user, password });
      methods.push({ type: 'keyboard-interactive', username: target.user, prompt: (_n, _i, _l, prompts, finish) => finish(prompts.map(() => password)) });
      tried.push('password');
    }
    if (methods.length === 0) throw new DeployError('auth', 'no way to log in: no --identity, no key in ~/.ssh, no ssh-agent (SSH_AUTH_SOCK) and no --password-env');
    const client = new ssh2.Client();
    const cfg: ConnectConfig = {
      sock,
      username: target.user,
      hostVerifier: verify,
      authHandler: methods,
      readyTimeout: o.timeoutMs,
      keepaliveInterval: 10_000,
      keepaliveCountMax: 3,
      ...(types.length > 0 ? { algorithms: { serverHostKey: hostKeyAlgorithms(types) as never } } : {}),
    };
    await new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve());
      client.once('error', (err: Error & { level?: string }) => {
        sock.destroy();
        if (keyProblem) return reject(keyProblem);
        if (err.level === 'client-authentication') return reject(new DeployError('auth', `login as ${target.user} refused (tried ${tried.join(', ')})`, { cause: err }));
        if (/no matching host key format/.test(err.message))
          return reject(new HostKeyError(`${name} offers none of the key types ${o.knownHosts.file} has for it (${types.join(', ')}): its keys changed? (ssh-keygen -R '${name}' if it was reinstalled)`));
        if (err.level === 'client-timeout') return reject(new DeployError('connect', `SSH handshake did not finish within ${Math.round(o.timeoutMs / 1000)} s`, { cause: err }));
        reject(new DeployError('connect', `SSH: ${err.message}`, { cause: err }));
      });
      client.connect(cfg);
    });
    client.on('error', () => undefined); // later errors surface through exec
    return new SshSession(client, target, localAddress, seenFp);
  }

  /** Runs a command through the user's shell; `stdin` is streamed in and closed. */
  exec(command: string, o: { stdin?: Readable | string | Buffer; timeoutMs?: number } = {}): Promise<ExecResult> {
    const timeoutMs = o.timeoutMs ?? 120_000;
    return new Promise((resolve, reject) => {
      this.client.exec(command, (err: Error | undefined, stream: ClientChannel) => {
        if (err) return reject(new DeployError('connect', `SSH: cannot run a command: ${err.message}`, { cause: err }));
        let stdout = '';
        let stderr = '';
        let code: number | null = null;
        const cap = (s: string, d: Buffer): string => (s.length > 1 << 20 ? s : s + d.toString());
        const timer = setTimeout(() => {
          stream.close();
          reject(new DeployError('remote', `\`${command.slice(0, 80)}\` did not finish within ${Math.round(timeoutMs / 1000)} s`));
        }, timeoutMs);
        stream.on('data', (d: Buffer) => (stdout = cap(stdout, d)));
        stream.stderr.on('data', (d: Buffer) => (stderr = cap(stderr, d)));
        stream.on('exit', (c: number | null) => (code = c));
        stream.on('close', () => {
          clearTimeout(timer);
          if (code === null) return reject(new DeployError('connect', `connection lost while running \`${command.slice(0, 80)}\``, { retryable: true }));
          resolve({ code, stdout, stderr });
        });
        if (o.stdin === undefined) stream.end();
        else if (typeof o.stdin === 'string' || Buffer.isBuffer(o.stdin)) {
          stream.write(o.stdin);
          stream.end();
        } else {
          const input = o.stdin;
          input.on('error', () => stream.close());
          input.pipe(stream);
        }
      });
    });
  }

  close(): void {
    this.client.end();
  }
}
