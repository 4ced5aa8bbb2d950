import { mkdirSync, mkdtempSync, renameSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Cluster } from '../trust/index.js';
import { initCluster, isInitialised, loadCluster } from '../trust/index.js';

/** Where `bramble run` keeps its credentials: `$XDG_CACHE_HOME/bramble/run` (default `~/.cache/bramble/run`). */
export function runCredentialsDir(): string {
  const cache = process.env['XDG_CACHE_HOME'] || path.join(os.homedir(), '.cache');
  return path.join(cache, 'bramble', 'run');
}

/** A directory only its owner (this user) can enter. */
function private_(dir: string): boolean {
  const st = statSync(dir);
  return st.isDirectory() && (process.getuid === undefined || st.uid === process.getuid()) && (st.mode & 0o077) === 0;
}

function usable(dir: string): boolean {
  try {
    return isInitialised(dir) && private_(dir);
  } catch {
    return false;
  }
}

/**
 * The credentials of `bramble run`'s head and local slots: the cluster secret its local worker
 * proves over the in-process link (a run opens no port, so no other user of the machine can join it),
 * the lease and code-signing keys; a cluster dir also holds a CA and head certificate. Making a CA and a head
 * certificate costs a user ~0.3 s (loading @peculiar/x509, key generation), so they are made on the
 * first run and kept in a directory only this user can enter (the protection `~/.bramble` has); two
 * first runs at once each make a set and the first to move it in place wins. Where the cache cannot
 * be written, a set is made in a temporary directory and removed by `dispose`.
 */
export async function runCredentials(): Promise<{ cluster: Cluster; dispose: () => void }> {
  const dir = runCredentialsDir();
  if (usable(dir)) {
    try {
      return { cluster: loadCluster(dir), dispose: () => {} };
    } catch {
      /* unreadable: make a fresh set below */
    }
  }
  try {
    mkdirSync(path.dirname(dir), { recursive: true, mode: 0o700 });
    const fresh = mkdtempSync(`${dir}.new-`);
    await initCluster(fresh);
    try {
      if (!usable(dir)) rmSync(dir, { recursive: true, force: true }); // a half-made or loose set; never one in use
      renameSync(fresh, dir);
    } catch {
      rmSync(fresh, { recursive: true, force: true }); // another run moved its set in first
    }
    if (usable(dir)) return { cluster: loadCluster(dir), dispose: () => {} };
  } catch {
    /* no cache: a temporary set below */
  }
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'bramble-run-'));
  return { cluster: await initCluster(tmp), dispose: () => rmSync(tmp, { recursive: true, force: true }) };
}
