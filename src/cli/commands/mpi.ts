import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { Command } from 'commander';
import { InputError } from '../../core/index.js';
import { resolveApi } from '../api-client.js';
import { dataDirOf } from '../shared.js';

/** `bramble mpirun` (docs/mpi.md); `bramble agent` is parsed by hand in main.ts (its CMD's options are not ours). */
export function register(program: Command): void {
  const api = (cmd: Command): Command =>
    cmd
      .option('--head-url <url>', 'head API, e.g. https://pi-head:7080 (default: from the data dir)')
      .option('--token <token>', 'admin token (default: BRAMBLE_TOKEN, or the data dir)')
      .option('--data <dir>', 'data dir of the head on this machine');
  const target = (o: Record<string, unknown>): ReturnType<typeof resolveApi> =>
    resolveApi({ headUrl: o['headUrl'] as string | undefined, token: o['token'] as string | undefined, data: dataDirOf(o as { data?: string }) });
  api(program.command('mpirun'))
    .description('run an MPI program (Open MPI or MPICH) on the workers that allow it: no SSH keys, no hostfile, no copying')
    .requiredOption('-n, --np <n>', 'number of ranks')
    .option('--per-node <k>', "ranks per node (default: each worker's slots)")
    .option('--nodes <names>', 'only these workers (names, hostnames or addresses, comma-separated)')
    .option('--mpi <flavour>', 'openmpi (mpirun, the default) or mpich (mpiexec.hydra)')
    .option('--file <file...>', 'files for the run directory on every node (the script named in the command is shipped anyway)')
    .option('--net <cidr>', "network for MPI's own TCP traffic (default: this machine's network that holds the nodes)")
    .option('--no-check', 'skip the checks before the launch')
    .argument('<command...>', 'the program and its arguments, after --')
    .action(async (command: string[], o: Record<string, unknown>) => {
      const int = (k: string, flag: string): number | undefined => {
        if (o[k] === undefined) return undefined;
        const v = Number(o[k]);
        if (!Number.isInteger(v) || v < 1) throw new InputError(flag, `${flag} must be a positive integer (got ${String(o[k])})`);
        return v;
      };
      const { mpirun } = await import('../../mpi/index.js');
      process.exitCode = await mpirun({
        api: target(o),
        n: int('np', '-n') as number,
        perNode: int('perNode', '--per-node'),
        nodes: o['nodes'] === undefined ? undefined : String(o['nodes']).split(',').map((s) => s.trim()).filter(Boolean),
        flavour: o['mpi'] as 'openmpi' | 'mpich' | undefined,
        files: (o['file'] as string[] | undefined) ?? [],
        net: o['net'] as string | undefined,
        check: o['check'] !== false,
        command,
      });
    });
}

/**
 * `bramble agent HOST CMD...`, ssh's shape: runs CMD on the worker at HOST through the head. Under
 * `bramble mpirun` it talks to that relay; by hand, to the head's API (BRAMBLE_HEAD_URL, token from
 * the data dir). Parsed by hand: CMD's own options (`orted -mca ...`) are not ours.
 */
export async function agentCommand(args: string[], dataDir = dataDirOf({})): Promise<number> {
  const { AGENT_SOCKET_ENV, runAgentViaRelay, ExecClient, getJson, agentExitCode, plainAddress } = await import('../../mpi/index.js');
  const [host, ...argv] = args;
  if (!host || argv.length === 0) throw new InputError('HOST', 'usage: bramble agent HOST CMD... (HOST: a worker name, hostname or address)');
  const relay = process.env[AGENT_SOCKET_ENV];
  if (relay) return runAgentViaRelay(relay, host, argv);
  const api = resolveApi({ data: dataDir });
  const { nodes } = await getJson<{ nodes: { id: string; name: string; hostname: string; remote: string; addresses: string[]; connected: boolean }[] }>(api, '/api/nodes');
  const node = nodes.find((n) => n.connected && (n.name === host || n.id === host || n.hostname === host || plainAddress(n.remote) === host || n.addresses.includes(host)));
  if (!node) throw new InputError('HOST', `no connected worker is called ${host} (workers: ${nodes.filter((n) => n.connected).map((n) => n.name).join(', ') || 'none'})`);
  const client = await ExecClient.connect(api);
  const ch = client.open({ node: node.id, run: `agent-${randomBytes(5).toString('hex')}`, cmd: argv.join(' '), label: `agent ${host} ${argv.join(' ')}` });
  const onSignal = (): void => ch.kill();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const code = await new Promise<number>((resolve) => {
    ch.on('data', (fd, data, ack) => (fd === 1 ? process.stdout : process.stderr).write(data, () => ack()));
    ch.on('exit', (e) => {
      if (e.error) process.stderr.write(`bramble agent: ${host}: ${e.error}\n`);
      resolve(agentExitCode(e, os.constants.signals as Record<string, number>));
    });
  });
  client.close();
  return code;
}
