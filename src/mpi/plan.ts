import { InputError } from '../core/index.js';

/** Which MPI launches the ranks: Open MPI's `mpirun` (orted on the nodes) or MPICH's Hydra (hydra_pmi_proxy). */
export type MpiFlavour = 'openmpi' | 'mpich';

/** What the head's `GET /api/nodes` says of a node (the fields a launch needs). */
export interface NodeInfo {
  id: string;
  name: string;
  hostname: string;
  addresses: string[];
  remote: string;
  state: string;
  connected: boolean;
  legacy?: boolean;
  allowExec?: boolean;
  slots: number;
}

export interface PlanOptions {
  n: number;
  /** Ranks per node (default: each node's slots). */
  perNode?: number;
  /** Only these nodes (names, ids, hostnames or addresses). */
  nodes?: string[];
}

export interface PlannedHost {
  node: string;
  name: string;
  /** The address mpirun names it by (the one the head sees it connect from). */
  address: string;
  ranks: number;
  /** Its ranks: first and last (ranks are laid out by slot, host after host, as in the hostfile). */
  first: number;
  last: number;
}

export interface Plan {
  hosts: PlannedHost[];
  /** Workers not used, and why (shown to the user). */
  leftOut: { name: string; why: string }[];
}

/** An address as the head saw it, without the IPv4-mapped prefix. */
export function plainAddress(a: string): string {
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

function matches(n: NodeInfo, want: string): boolean {
  return want === n.name || want === n.id || want === n.hostname || want === plainAddress(n.remote) || n.addresses.includes(want);
}

/**
 * Picks `n` slots on ready workers that run commands, host after host (a host's slots filled before
 * the next, as mpirun fills a hostfile), one hostfile entry per address: two workers behind one
 * address would be one host to MPI, so the second is left out.
 */
export function planRanks(nodes: NodeInfo[], o: PlanOptions): Plan {
  if (!Number.isInteger(o.n) || o.n < 1) throw new InputError('-n', `-n must be a positive integer (got ${o.n})`);
  if (o.perNode !== undefined && (!Number.isInteger(o.perNode) || o.perNode < 1)) throw new InputError('--per-node', `--per-node must be a positive integer (got ${o.perNode})`);
  const leftOut: Plan['leftOut'] = [];
  const wanted = o.nodes?.length ? o.nodes : null;
  if (wanted) {
    for (const w of wanted) if (!nodes.some((n) => matches(n, w))) throw new InputError('--nodes', `--nodes: no worker is called ${JSON.stringify(w)} (known: ${nodes.map((n) => n.name).join(', ') || 'none'})`);
  }
  const usable: NodeInfo[] = [];
  const byAddress = new Map<string, string>();
  for (const n of [...nodes].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id))) {
    if (n.legacy) continue;
    if (wanted && !wanted.some((w) => matches(n, w))) continue;
    if (!n.connected || n.state !== 'ready') {
      leftOut.push({ name: n.name, why: `${n.connected ? n.state : 'not connected'}` });
      continue;
    }
    if (!n.allowExec) {
      leftOut.push({ name: n.name, why: 'started without --allow-exec' });
      continue;
    }
    const address = plainAddress(n.remote);
    const twin = byAddress.get(address);
    if (twin !== undefined) {
      leftOut.push({ name: n.name, why: `same address ${address} as ${twin} (one MPI host per address)` });
      continue;
    }
    byAddress.set(address, n.name);
    usable.push(n);
  }
  const hosts: PlannedHost[] = [];
  let next = 0;
  for (const n of usable) {
    if (next >= o.n) break;
    const slots = o.perNode ?? n.slots;
    const k = Math.min(slots, o.n - next);
    if (k <= 0) continue;
    hosts.push({ node: n.id, name: n.name, address: plainAddress(n.remote), ranks: k, first: next, last: next + k - 1 });
    next += k;
  }
  if (next < o.n) {
    const total = usable.reduce((s, n) => s + (o.perNode ?? n.slots), 0);
    const detail = usable.map((n) => `${n.name}: ${o.perNode ?? n.slots}`).join(', ');
    const out = leftOut.length ? `; left out: ${leftOut.map((l) => `${l.name} (${l.why})`).join(', ')}` : '';
    const hint = usable.length ? `: use --per-node ${Math.ceil(o.n / usable.length)} to run ${Math.ceil(o.n / usable.length)} ranks on each node, or start more workers` : ': start workers with --allow-exec';
    throw new InputError('-n', `-n ${o.n} needs ${o.n} slots, but ${usable.length} ready worker(s) that allow commands have ${total}${detail ? ` (${detail})` : ''}${out}${hint}`);
  }
  return { hosts, leftOut };
}

/** The hostfile in the flavour's own syntax: `ADDR slots=K` (Open MPI), `ADDR:K` (Hydra). */
export function hostfile(plan: Plan, flavour: MpiFlavour): string {
  return plan.hosts.map((h) => (flavour === 'openmpi' ? `${h.address} slots=${h.ranks}` : `${h.address}:${h.ranks}`)).join('\n') + '\n';
}

/** The host that ran `rank`. */
export function hostOfRank(plan: Plan, rank: number): PlannedHost | undefined {
  return plan.hosts.find((h) => rank >= h.first && rank <= h.last);
}

export function rankList(h: PlannedHost): string {
  return h.first === h.last ? `rank ${h.first}` : `ranks ${h.first}-${h.last}`;
}

export interface LaunchOptions {
  flavour: MpiFlavour;
  n: number;
  hostfilePath: string;
  /** Executable that mpirun calls as its rsh (`AGENT HOST CMD...`). */
  agentPath: string;
  /** Working directory of the ranks: the run directory, the same path on every node. */
  wdir: string;
  /** CIDR of the cluster network: MPI's TCP traffic stays on it (not on docker bridges). */
  net: string | null;
  /** This machine's address on that network (Hydra's proxies dial back to it). */
  localAddress: string | null;
  command: string[];
}

/** The system launcher's argv and extra environment, with bramble as its remote shell. */
export function launchCommand(o: LaunchOptions): { file: string; args: string[]; env: Record<string, string> } {
  if (o.flavour === 'openmpi') {
    const mca = (k: string, v: string): string[] => ['--mca', k, v];
    return {
      file: 'mpirun.openmpi',
      args: [
        '--hostfile', o.hostfilePath,
        '-n', String(o.n),
        '--map-by', 'slot',
        '--bind-to', 'none',
        ...mca('plm_rsh_agent', o.agentPath),
        // remote daemons would call the agent themselves (tree spawn): it only works on this machine
        ...mca('plm_rsh_no_tree_spawn', '1'),
        // keep each orted in the foreground of its agent's command: it lives and dies with it (a
        // daemonized orted would leave the session the worker kills, and outlive a lost node)
        ...mca('orte_leave_session_attached', '1'),
        // two hostfile names on one machine crash the shared-memory transport
        ...mca('btl', 'self,tcp'),
        // no topology shared in memory mapped at a "hole" of the address space: orted (and ranks that
        // adopt it) segfaulted in hwloc_shmem_topology_write about one run in four here ("Address not
        // mapped"); each process then reads the topology itself
        ...mca('rtc_hwloc_vmhole', 'none'),
        ...(o.net ? [...mca('btl_tcp_if_include', o.net), ...mca('oob_tcp_if_include', o.net)] : []),
        '--wdir', o.wdir,
        ...o.command,
      ],
      env: {},
    };
  }
  return {
    file: 'mpiexec.hydra',
    args: ['-launcher', 'rsh', '-launcher-exec', o.agentPath, '-f', o.hostfilePath, '-n', String(o.n), '-wdir', o.wdir, ...(o.localAddress ? ['-localhost', o.localAddress] : []), ...o.command],
    // hosts that are this machine would be forked here, outside bramble
    env: { HYDRA_LAUNCHER_AUTOFORK: '0' },
  };
}
