import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { BrambleError, InputError } from '../core/index.js';
import { defaultDataDir } from '../trust/index.js';
import { resolveApi } from './api-client.js';
import { agentCommand, registerMpiCommands } from './mpi-commands.js';

/**
 * The lean entry of `bramble mpirun` and `bramble agent` (bin/bramble.js picks it for them): the same
 * commands as in the full CLI, without loading the head, the worker, the dashboard or the tasks.
 */
export async function mpiMain(argv: string[]): Promise<void> {
  const dataDir = (o: Record<string, unknown>): string => path.resolve((o['data'] as string | undefined) ?? defaultDataDir());
  try {
    if (argv[2] === 'agent') {
      process.exitCode = await agentCommand(argv.slice(3), dataDir({}));
      return;
    }
    const program = new Command('bramble').exitOverride().configureOutput({ writeErr: (s) => process.stderr.write(s) });
    const api = (cmd: Command): Command =>
      cmd
        .option('--head-url <url>', 'head API, e.g. https://pi-head:7080 (default: from the data dir)')
        .option('--token <token>', 'admin token (default: BRAMBLE_TOKEN, or the data dir)')
        .option('--data <dir>', 'data dir of the head on this machine')
        .option('--json', 'print JSON');
    registerMpiCommands(program, api, (o) => resolveApi({ headUrl: o['headUrl'] as string | undefined, token: o['token'] as string | undefined, data: dataDir(o) }));
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.code === 'commander.helpDisplayed' || err.code === 'commander.help' ? 0 : 2;
      return;
    }
    process.stderr.write(`error: ${(err as Error).message}\n`);
    process.exitCode = err instanceof InputError ? 2 : err instanceof BrambleError ? 1 : 1;
    if (!(err instanceof BrambleError)) throw err;
  }
}
