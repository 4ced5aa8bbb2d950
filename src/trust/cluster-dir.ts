import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BrambleError } from '../core/index.js';
import { formatJoinToken, newSecret } from './join-token.js';
import { certHash, createClusterCa, issueServerCert } from './pki.js';
import { codePublicKey, newCodeKeyPem } from './code-signing.js';

/** The files of a cluster in its data dir. Secrets are written with mode 0600. */
export const FILES = {
  caCert: 'ca.crt',
  caKey: 'ca.key',
  headCert: 'head.crt',
  headKey: 'head.key',
  secret: 'cluster-secret',
  adminToken: 'admin-token',
  leaseKey: 'lease-key',
  /** Ed25519 key that signs the code the head ships (issue 12). */
  codeKey: 'code-key',
  config: 'config.json',
  db: 'bramble.db',
  headState: 'head.json',
} as const;

/** What a running head writes to DATA/head.json so tools on its machine find it. */
export interface HeadState {
  /** The API as this machine reaches it. */
  url: string;
  /** The API as the head advertises it to others. */
  advertised: string;
  workerPort: number;
  pid: number;
  insecure: boolean;
}

export function writeHeadState(dir: string, state: HeadState): void {
  // atomically: a reader polling for the file never sees it half written
  const file = path.join(dir, FILES.headState);
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

/** Files of the data dir that anyone may read: the certificates. Everything else is 0600. */
const PUBLIC_FILES = new Set<string>([FILES.caCert, FILES.headCert]);

/**
 * Makes the data dir 0700 and every file in it (one level of subdirectories too) 0600, but for the
 * certificates (0644); returns one line per mode it changed, for the head to warn with (issue 17,
 * item 14: `bramble.db`, `head.json` and `config.json` were 0644, an existing dir kept 0755).
 */
export function secureDataDir(dir: string): string[] {
  const fixed: string[] = [];
  const fix = (p: string, want: number, isDir: boolean): void => {
    const st = lstatSync(p);
    if (st.isSymbolicLink()) return; // never follow a link out of the data dir
    const mode = st.mode & 0o777;
    const bad = isDir ? mode & 0o077 : want === 0o600 ? mode & 0o177 : mode & 0o133;
    if (bad === 0) return;
    chmodSync(p, want);
    fixed.push(`${p} was ${mode.toString(8).padStart(4, '0')}, now ${want.toString(8).padStart(4, '0')}`);
  };
  const walk = (d: string, depth: number): void => {
    fix(d, 0o700, true);
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        if (depth < 1) walk(p, depth + 1);
      } else if (e.isFile()) fix(p, depth === 0 && PUBLIC_FILES.has(e.name) ? 0o644 : 0o600, false);
    }
  };
  if (existsSync(dir)) walk(dir, 0);
  return fixed;
}

/** The running head's state, or null when none was written (or it cannot be read). */
export function readHeadState(dir: string): Partial<HeadState> | null {
  try {
    const s = JSON.parse(readFileSync(path.join(dir, FILES.headState), 'utf8')) as unknown;
    return typeof s === 'object' && s !== null ? (s as Partial<HeadState>) : null;
  } catch {
    return null;
  }
}

export class ClusterDirError extends BrambleError {
  override name = 'ClusterDirError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('CLUSTER_DIR', message, options);
  }
}

export function defaultDataDir(): string {
  return process.env['BRAMBLE_DATA'] ?? path.join(os.homedir(), '.bramble');
}

export interface Cluster {
  dir: string;
  caCertPem: string;
  caHash: string;
  headCertPem: string;
  headKeyPem: string;
  secret: string;
  adminToken: string;
  leaseKey: string;
  /** Ed25519 private key (PKCS#8 PEM) signing shipped code, and its public half (SPKI DER, base64). */
  codeKeyPem: string;
  codePublicKey: string;
  joinToken: string;
}

function writeSecret(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

export function isInitialised(dir: string): boolean {
  return existsSync(path.join(dir, FILES.caCert)) && existsSync(path.join(dir, FILES.secret));
}

/** Names and addresses the head certificate is valid for: this host's, plus the user's `--san`. */
export function defaultSans(extra: readonly string[] = []): string[] {
  const names = ['localhost', '127.0.0.1', '::1', os.hostname()];
  for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) names.push(a.address.replace(/%.*$/, ''));
  return [...new Set([...names, ...extra])];
}

/** Creates a cluster: CA, head certificate, cluster secret, admin token, lease key. */
export async function initCluster(dir: string, options: { force?: boolean; sans?: readonly string[] } = {}): Promise<Cluster> {
  if (isInitialised(dir) && !options.force) {
    throw new ClusterDirError(`${dir} already holds a cluster; use --force to replace it (every worker will need the new join token)`);
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ca = await createClusterCa();
  const head = await issueServerCert(ca, defaultSans(options.sans));
  chmodSync(dir, 0o700);
  writeFileSync(path.join(dir, FILES.caCert), ca.certPem, { mode: 0o644 });
  chmodSync(path.join(dir, FILES.caCert), 0o644);
  writeSecret(path.join(dir, FILES.caKey), ca.keyPem);
  writeFileSync(path.join(dir, FILES.headCert), head.certPem + ca.certPem, { mode: 0o644 });
  chmodSync(path.join(dir, FILES.headCert), 0o644);
  writeSecret(path.join(dir, FILES.headKey), head.keyPem);
  writeSecret(path.join(dir, FILES.secret), newSecret());
  writeSecret(path.join(dir, FILES.adminToken), randomBytes(24).toString('base64url'));
  writeSecret(path.join(dir, FILES.leaseKey), randomBytes(32).toString('base64url'));
  writeSecret(path.join(dir, FILES.codeKey), newCodeKeyPem());
  return loadCluster(dir);
}

/** Replaces the cluster secret: join tokens made before stop working. */
export function rotateSecret(dir: string): Cluster {
  if (!isInitialised(dir)) throw new ClusterDirError(`no cluster in ${dir}: run \`bramble init --data ${dir}\` first`);
  writeSecret(path.join(dir, FILES.secret), newSecret());
  return loadCluster(dir);
}

function read(dir: string, name: string): string {
  try {
    return readFileSync(path.join(dir, name), 'utf8');
  } catch (err) {
    throw new ClusterDirError(`cannot read ${path.join(dir, name)}: ${(err as Error).message}`, { cause: err });
  }
}

export function loadCluster(dir: string): Cluster {
  if (!isInitialised(dir)) throw new ClusterDirError(`no cluster in ${dir}: run \`bramble init --data ${dir}\` first`);
  const caCertPem = read(dir, FILES.caCert);
  const caHash = certHash(caCertPem);
  const secret = read(dir, FILES.secret).trim();
  // data dirs made before issue 12 have no code key: make one
  let codeKeyPem: string;
  if (existsSync(path.join(dir, FILES.codeKey))) codeKeyPem = read(dir, FILES.codeKey);
  else {
    codeKeyPem = newCodeKeyPem();
    try {
      writeSecret(path.join(dir, FILES.codeKey), codeKeyPem);
    } catch {
      /* a read-only data dir (a worker reading the join material): a head could not run here anyway */
    }
  }
  return {
    dir,
    caCertPem,
    caHash,
    headCertPem: read(dir, FILES.headCert),
    headKeyPem: read(dir, FILES.headKey),
    secret,
    adminToken: read(dir, FILES.adminToken).trim(),
    leaseKey: read(dir, FILES.leaseKey).trim(),
    codeKeyPem,
    codePublicKey: codePublicKey(codeKeyPem),
    joinToken: formatJoinToken({ caHash, secret }),
  };
}

/** The data dir's config file, or {} when there is none. */
export function readConfigFile(file: string): { data: Record<string, unknown>; exists: boolean } {
  if (!existsSync(file)) return { data: {}, exists: false };
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ClusterDirError(`${file} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new ClusterDirError(`${file} must hold a JSON object`);
  return { data: data as Record<string, unknown>, exists: true };
}

export function writeConfigFile(file: string, data: Record<string, unknown>): void {
  writeFileSync(file, JSON.stringify(data, null, 2) + '\n', { mode: 0o600 });
  chmodSync(file, 0o600);
}
