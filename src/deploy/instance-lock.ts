import { createHash } from 'node:crypto';
import { mkdirSync, realpathSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InstanceLockedError } from './errors.js';

/**
 * One worker per (data dir, instance id) on a machine, enforced by the kernel rather than by a scan of
 * process names (seed 004's `is_another_instance_running`): the worker listens on a Unix socket named
 * after both. On Linux it is an abstract socket (`\0bramble-worker:<hash of the data dir>:<instance>`),
 * which the kernel frees when the process dies, however it dies: there is no stale lock to clean up.
 * Elsewhere it is `DATA/run/worker-I.sock`, taken over when nothing answers on it.
 *
 * Whoever connects gets one JSON line about the holder, so a second start says which process holds the
 * lock, and `bramble service status` learns each instance's pid without reading process tables.
 * Abstract sockets belong to a network namespace: two namespaces do not see each other's locks.
 */
export interface LockHolder {
  pid: number;
  ppid: number;
  instance: number;
  dataDir: string;
  startedAt: string;
  /** The bramble installation the holder runs from. */
  app: string;
}

export interface InstanceLock {
  readonly instance: number;
  readonly dataDir: string;
  release(): void;
}

function canonical(dir: string): string {
  try {
    return realpathSync(dir);
  } catch {
    return path.resolve(dir);
  }
}

/** The socket address of a lock (abstract on Linux, a file elsewhere). */
export function lockAddress(dataDir: string, instance: number): string {
  const dir = canonical(dataDir);
  if (process.platform === 'linux') return `\0bramble-worker:${createHash('sha256').update(dir).digest('hex').slice(0, 32)}:${instance}`;
  return path.join(dir, 'run', `worker-${instance}.sock`);
}

/** Asks whoever holds the lock who they are; null when nobody does. */
export function probeInstanceLock(dataDir: string, instance: number, timeoutMs = 2000): Promise<LockHolder | null> {
  return probeAddress(lockAddress(dataDir, instance), timeoutMs).then((r) => (r === 'free' || r === 'silent' ? null : r));
}

/** 'free': nothing listens; 'silent': something listens but did not answer in time. */
function probeAddress(address: string, timeoutMs: number): Promise<LockHolder | 'free' | 'silent'> {
  return new Promise((resolve) => {
    const sock = net.createConnection(address);
    let text = '';
    const timer = setTimeout(() => {
      sock.destroy();
      resolve('silent');
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => (text += d));
    sock.on('end', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(text) as LockHolder);
      } catch {
        resolve('silent');
      }
    });
    sock.on('error', () => {
      clearTimeout(timer);
      resolve('free');
    });
  });
}

function listen(server: net.Server, address: string): Promise<NodeJS.ErrnoException | null> {
  return new Promise((resolve) => {
    const onError = (err: NodeJS.ErrnoException): void => resolve(err);
    server.once('error', onError);
    server.listen(address, () => {
      server.off('error', onError);
      resolve(null);
    });
  });
}

/**
 * Takes the lock of worker `instance` for `dataDir`, or throws InstanceLockedError naming the process
 * that holds it. The lock lives as long as this process (or until `release()`); it does not keep the
 * event loop alive.
 */
export async function acquireInstanceLock(dataDir: string, instance: number): Promise<InstanceLock> {
  const dir = canonical(dataDir);
  const address = lockAddress(dir, instance);
  const me: LockHolder = {
    pid: process.pid,
    ppid: process.ppid,
    instance,
    dataDir: dir,
    startedAt: new Date().toISOString(),
    app: fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, ''),
  };
  if (!address.startsWith('\0')) mkdirSync(path.dirname(address), { recursive: true, mode: 0o700 });
  for (let attempt = 0; ; attempt++) {
    const server = net.createServer((sock) => {
      sock.on('error', () => undefined);
      sock.end(JSON.stringify(me) + '\n');
    });
    const err = await listen(server, address);
    if (!err) {
      server.unref();
      let released = false;
      return {
        instance,
        dataDir: dir,
        release() {
          if (released) return;
          released = true;
          server.close();
          if (!address.startsWith('\0')) rmSync(address, { force: true });
        },
      };
    }
    if (err.code !== 'EADDRINUSE') throw err;
    const holder = await probeAddress(address, 2000);
    if (holder === 'free' && !address.startsWith('\0') && attempt === 0) {
      rmSync(address, { force: true }); // a socket file left by a process that died
      continue;
    }
    if (typeof holder === 'object') {
      throw new InstanceLockedError(
        `worker instance ${instance} is already running for ${dir}: process ${holder.pid} holds its lock (since ${holder.startedAt}); ` +
          `stop it first (\`kill ${holder.pid}\`, or \`bramble service status\` if it is a service) or give this one another --instance`,
        holder.pid,
      );
    }
    throw new InstanceLockedError(`worker instance ${instance} is already running for ${dir}: a process holds its lock but does not say which (${address.startsWith('\0') ? 'abstract socket' : address})`, null);
  }
}
