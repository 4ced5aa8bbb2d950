import { describe, expect, it } from 'vitest';
import { InputError } from '../core/index.js';
import type { NodeInfo } from './plan.js';
import { hostOfRank, hostfile, launchCommand, planRanks } from './plan.js';

const node = (name: string, remote: string, o: Partial<NodeInfo> = {}): NodeInfo => ({ id: `${name}-id`, name, hostname: name, addresses: [remote], remote, state: 'ready', connected: true, allowExec: true, slots: 2, ...o });

describe('planRanks', () => {
  it('fills each host before the next, in name order, and maps ranks to hosts as mpirun does', () => {
    const plan = planRanks([node('pi2', '::ffff:10.0.0.2'), node('pi1', '10.0.0.1', { slots: 4 }), node('pi3', '10.0.0.3')], { n: 5 });
    expect(plan.hosts.map((h) => [h.name, h.address, h.ranks, h.first, h.last])).toEqual([
      ['pi1', '10.0.0.1', 4, 0, 3],
      ['pi2', '10.0.0.2', 1, 4, 4],
    ]);
    expect(hostOfRank(plan, 4)?.name).toBe('pi2');
    expect(hostfile(plan, 'openmpi')).toBe('10.0.0.1 slots=4\n10.0.0.2 slots=1\n');
    expect(hostfile(plan, 'mpich')).toBe('10.0.0.1:4\n10.0.0.2:1\n');
  });

  it('leaves out workers without --allow-exec, not ready, or behind an address already used, and says why', () => {
    const plan = planRanks([node('a', '10.0.0.1'), node('b', '10.0.0.2', { allowExec: false }), node('c', '10.0.0.3', { state: 'stale' }), node('d', '10.0.0.1')], { n: 2 });
    expect(plan.hosts.map((h) => h.name)).toEqual(['a']);
    expect(plan.leftOut).toEqual([
      { name: 'b', why: 'started without --allow-exec' },
      { name: 'c', why: 'stale' },
      { name: 'd', why: 'same address 10.0.0.1 as a (one MPI host per address)' },
    ]);
  });

  it('says how many slots there are when -n wants more, and suggests --per-node', () => {
    expect(() => planRanks([node('a', '10.0.0.1'), node('b', '10.0.0.2')], { n: 6 })).toThrow(
      new InputError('-n', '-n 6 needs 6 slots, but 2 ready worker(s) that allow commands have 4 (a: 2, b: 2): use --per-node 3 to run 3 ranks on each node, or start more workers'),
    );
    expect(planRanks([node('a', '10.0.0.1'), node('b', '10.0.0.2')], { n: 6, perNode: 3 }).hosts.map((h) => h.ranks)).toEqual([3, 3]);
  });

  it('takes only the nodes named by --nodes and names an unknown one', () => {
    expect(planRanks([node('a', '10.0.0.1'), node('b', '10.0.0.2')], { n: 2, nodes: ['10.0.0.2'] }).hosts.map((h) => h.name)).toEqual(['b']);
    expect(() => planRanks([node('a', '10.0.0.1')], { n: 1, nodes: ['zz'] })).toThrow('--nodes: no worker is called "zz" (known: a)');
    expect(() => planRanks([node('a', '10.0.0.1')], { n: 0 })).toThrow('-n must be a positive integer (got 0)');
  });
});

describe('launchCommand', () => {
  const base = { n: 4, hostfilePath: '/t/h', agentPath: '/t/agent', wdir: '/tmp/bramble-exec/r', net: '10.0.0.0/24', localAddress: '10.0.0.9', command: ['python3', 'x.py'] };
  it('gives Open MPI bramble as its rsh, no tree spawn, TCP on the cluster network, attached daemons', () => {
    const c = launchCommand({ ...base, flavour: 'openmpi' });
    expect(c.file).toBe('mpirun.openmpi');
    const args = c.args.join(' ');
    for (const want of ['--mca plm_rsh_agent /t/agent', '--mca plm_rsh_no_tree_spawn 1', '--mca orte_leave_session_attached 1', '--mca btl self,tcp', '--mca rtc_hwloc_vmhole none', '--mca btl_tcp_if_include 10.0.0.0/24', '--mca oob_tcp_if_include 10.0.0.0/24', '--wdir /tmp/bramble-exec/r']) expect(args).toContain(want);
    expect(c.args.slice(-2)).toEqual(['python3', 'x.py']);
  });
  it("gives Hydra bramble as its rsh launcher, this machine's address, and no forking of local hosts", () => {
    const c = launchCommand({ ...base, flavour: 'mpich' });
    expect(c.file).toBe('mpiexec.hydra');
    expect(c.args.join(' ')).toBe('-launcher rsh -launcher-exec /t/agent -f /t/h -n 4 -wdir /tmp/bramble-exec/r -localhost 10.0.0.9 python3 x.py');
    expect(c.env).toEqual({ HYDRA_LAUNCHER_AUTOFORK: '0' });
  });
});
