import { createHash, createHmac } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * OpenSSH's known_hosts, read the way `ssh` reads it: comma-separated host patterns (`*`, `?`, `!`
 * negation), `[host]:port` for ports other than 22, hashed names (`|1|salt|hmac`, HashKnownHosts),
 * `@revoked` lines. `@cert-authority` lines are skipped (bramble does not take host certificates).
 */
export interface KnownHostLine {
  line: number;
  marker: '' | '@revoked' | '@cert-authority';
  patterns: string;
  keyType: string;
  key: Buffer;
}

/** What a presented host key is, compared with the file. */
export type HostKeyStatus =
  | { status: 'known'; line: number }
  | { status: 'unknown' }
  | { status: 'changed'; lines: number[]; expected: string[] }
  | { status: 'revoked'; line: number };

export function defaultKnownHostsFile(): string {
  return path.join(os.homedir(), '.ssh', 'known_hosts');
}

/** The name ssh looks up: `host` on port 22, else `[host]:port`. */
export function knownHostName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** SHA256:base64 as `ssh-keygen -lf` prints it. */
export function fingerprint(key: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(key).digest('base64').replace(/=+$/, '');
}

/** The algorithm name at the start of an SSH public key blob (`ssh-ed25519`, `ecdsa-sha2-nistp256`...). */
export function keyTypeOf(blob: Buffer): string {
  if (blob.length < 4) return '';
  const n = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + n).toString('latin1');
}

/** Host key algorithms to offer so the server presents a key of a type we know (as OpenSSH orders them). */
export function hostKeyAlgorithms(types: readonly string[]): string[] {
  const out: string[] = [];
  for (const t of types) for (const a of t === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [t]) if (!out.includes(a)) out.push(a);
  return out;
}

function globToRegExp(glob: string): RegExp {
  const re = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 'i');
}

function hashedMatches(pattern: string, name: string): boolean {
  const parts = pattern.split('|'); // ['', '1', salt, hash]
  if (parts.length !== 4 || parts[1] !== '1') return false;
  const salt = Buffer.from(parts[2] as string, 'base64');
  return createHmac('sha1', salt).update(name).digest('base64') === parts[3];
}

/** Whether a line's comma-separated patterns match the name (a matching negation excludes the line). */
export function patternsMatch(patterns: string, name: string): boolean {
  let hit = false;
  for (const raw of patterns.split(',')) {
    const neg = raw.startsWith('!');
    const p = neg ? raw.slice(1) : raw;
    const m = p.startsWith('|') ? hashedMatches(p, name) : globToRegExp(p).test(name);
    if (m && neg) return false;
    if (m) hit = true;
  }
  return hit;
}

export function parseKnownHosts(text: string): KnownHostLine[] {
  const out: KnownHostLine[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const words = line.split(/\s+/);
    let marker: KnownHostLine['marker'] = '';
    if (words[0] === '@revoked' || words[0] === '@cert-authority') marker = words.shift() as KnownHostLine['marker'];
    const [patterns, keyType, b64] = words;
    if (!patterns || !keyType || !b64) return;
    out.push({ line: i + 1, marker, patterns, keyType, key: Buffer.from(b64, 'base64') });
  });
  return out;
}

/** A known_hosts file; `add` appends (trust on first use), as `ssh -o StrictHostKeyChecking=accept-new` does. */
export class KnownHosts {
  private lines: KnownHostLine[];

  constructor(readonly file: string) {
    this.lines = existsSync(file) ? parseKnownHosts(readFileSync(file, 'utf8')) : [];
  }

  private matching(host: string, port: number): KnownHostLine[] {
    const name = knownHostName(host, port);
    return this.lines.filter((l) => l.marker !== '@cert-authority' && patternsMatch(l.patterns, name));
  }

  /** Key types recorded for the host (empty: unknown host). */
  typesFor(host: string, port: number): string[] {
    return [...new Set(this.matching(host, port).filter((l) => l.marker === '').map((l) => l.keyType))];
  }

  check(host: string, port: number, key: Buffer): HostKeyStatus {
    const lines = this.matching(host, port);
    const revoked = lines.find((l) => l.marker === '@revoked' && l.key.equals(key));
    if (revoked) return { status: 'revoked', line: revoked.line };
    const plain = lines.filter((l) => l.marker === '');
    const same = plain.find((l) => l.key.equals(key));
    if (same) return { status: 'known', line: same.line };
    if (plain.length === 0) return { status: 'unknown' };
    return { status: 'changed', lines: plain.map((l) => l.line), expected: plain.map((l) => `${l.keyType} ${fingerprint(l.key)}`) };
  }

  add(host: string, port: number, key: Buffer): void {
    const type = keyTypeOf(key);
    mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    let prefix = '';
    if (existsSync(this.file)) {
      const text = readFileSync(this.file, 'utf8');
      if (text.length > 0 && !text.endsWith('\n')) prefix = '\n';
    }
    appendFileSync(this.file, `${prefix}${knownHostName(host, port)} ${type} ${key.toString('base64')}\n`, { mode: 0o600 });
    this.lines = parseKnownHosts(readFileSync(this.file, 'utf8'));
  }
}
