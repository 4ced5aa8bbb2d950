import { spawnSync } from 'node:child_process';

/**
 * Network namespaces as extra "hosts" on this machine: a namespace joined to the root namespace by a
 * veth pair (real addresses, real partitions by taking the host end down), or several namespaces on
 * one bridge. Needs root and iproute2; `netnsMissing()` says what is missing, so a test can fail
 * under CI=true and skip elsewhere. Every name is chosen by the test, so tests running at once keep
 * apart; teardown never throws (a link goes with its namespace).
 */

/** Runs `ip ARGS`; throws with ip's own message when it fails. */
export function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.error) throw new Error(`ip ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
}

/** Runs `ip ARGS`, ignoring failure (teardown of what may not exist). */
function ipQuiet(...args: string[]): void {
  spawnSync('ip', args, { stdio: 'ignore' });
}

/** Why namespaces cannot be made here, or null when they can. */
export function netnsMissing(): string | null {
  if (process.getuid?.() !== 0) return 'needs root';
  const r = spawnSync('ip', ['-V'], { stdio: 'ignore' });
  if (r.error || r.status !== 0) return 'needs iproute2 (ip)';
  return null;
}

/** The command line that runs CMD ARGS inside namespace NS (for `spawn`). */
export function inNamespace(ns: string, cmd: string, args: string[]): [string, string[]] {
  return ['ip', ['netns', 'exec', ns, cmd, ...args]];
}

export interface VethHost {
  /** namespace name */
  ns: string;
  /** the veth end left in the root namespace */
  hostIf: string;
  /** the veth end moved into the namespace */
  nsIf: string;
  /** the namespace's address (a /24 shared with hostIp, or with the bridge's address) */
  nsIp: string;
}

function addNamespace(h: VethHost): void {
  ip('netns', 'add', h.ns);
  ip('link', 'add', h.hostIf, 'type', 'veth', 'peer', 'name', h.nsIf);
  ip('link', 'set', h.nsIf, 'netns', h.ns);
  ip('netns', 'exec', h.ns, 'ip', 'addr', 'add', `${h.nsIp}/24`, 'dev', h.nsIf);
  ip('netns', 'exec', h.ns, 'ip', 'link', 'set', h.nsIf, 'up');
  ip('netns', 'exec', h.ns, 'ip', 'link', 'set', 'lo', 'up');
}

function removeNamespace(h: Pick<VethHost, 'ns' | 'hostIf'>): void {
  ipQuiet('link', 'del', h.hostIf);
  ipQuiet('netns', 'del', h.ns);
}

/**
 * One namespace joined to the root namespace by a veth pair: the root side gets hostIp/24. A leftover
 * of an earlier run with the same names is removed first.
 */
export function vethUp(h: VethHost & { hostIp: string }): void {
  removeNamespace(h);
  addNamespace(h);
  ip('addr', 'add', `${h.hostIp}/24`, 'dev', h.hostIf);
  ip('link', 'set', h.hostIf, 'up');
}

export function vethDown(h: Pick<VethHost, 'ns' | 'hostIf'>): void {
  removeNamespace(h);
}

/** Cuts (false) or heals (true) a namespace's link by its root-side end. */
export function setLink(hostIf: string, up: boolean): void {
  ip('link', 'set', hostIf, up ? 'up' : 'down');
}

/**
 * Several namespaces on one bridge in the root namespace, which gets bridgeIp/24. Leftovers of an
 * earlier run with the same names are removed first.
 */
export function bridgeUp(bridge: string, bridgeIp: string, hosts: VethHost[]): void {
  bridgeDown(bridge, hosts);
  ip('link', 'add', bridge, 'type', 'bridge');
  ip('addr', 'add', `${bridgeIp}/24`, 'dev', bridge);
  ip('link', 'set', bridge, 'up');
  for (const h of hosts) {
    addNamespace(h);
    ip('link', 'set', h.hostIf, 'master', bridge);
    ip('link', 'set', h.hostIf, 'up');
  }
}

export function bridgeDown(bridge: string, hosts: Pick<VethHost, 'ns' | 'hostIf'>[]): void {
  for (const h of hosts) removeNamespace(h);
  ipQuiet('link', 'del', bridge);
}
