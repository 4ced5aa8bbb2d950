import { Command, CommanderError, Help } from 'commander';
import { BrambleError, InputError } from '../core/index.js';
import { VERSION } from './version.js';

export { VERSION };

/** Exit status for bad input (flags, config, arguments). */
const EXIT_USAGE = 2;

type Register = (program: Command) => void;

/**
 * Every command: its module is loaded only when the command runs (or shows its own help), so
 * `bramble --help` and `bramble run --help` load no head, TLS, zod, fastify or pino. The listing's
 * `usage` (what follows the name there) and `description` repeat each command's own
 * (test/cli-startup.test.ts checks they agree).
 */
export const COMMANDS: readonly { name: string; usage: string; description: string; load: () => Promise<Register> }[] = (() => {
  const run = async (): Promise<Register> => (await import('./commands/run.js')).register;
  const cluster = async (): Promise<Register> => (await import('./commands/cluster.js')).register;
  const head = async (): Promise<Register> => (await import('./commands/head.js')).register;
  const worker = async (): Promise<Register> => (await import('./commands/worker.js')).register;
  const api = async (): Promise<Register> => (await import('./commands/api.js')).register;
  const deploy = async (): Promise<Register> => (await import('../deploy/index.js')).registerDeployCommands;
  const mpi = async (): Promise<Register> => (await import('./commands/mpi.js')).register;
  return [
    { name: 'run', usage: '[options] <task> [command...]', description: 'run a job on this machine: a head and local worker slots inside this one command', load: run },
    { name: 'init', usage: '[options]', description: 'create a cluster: CA, head certificate, cluster secret, admin token, config', load: cluster },
    { name: 'token', usage: '[options]', description: 'print the join token (alone on the last line)', load: cluster },
    { name: 'head', usage: '[options]', description: 'run the head: chunk ledger, worker port (TLS), HTTP API and dashboard', load: head },
    { name: 'worker', usage: '[options]', description: 'run a worker: computes chunks for a head', load: worker },
    { name: 'submit', usage: '[options] <task> [command...]', description: 'submit a job to the head', load: api },
    { name: 'jobs', usage: '[options]', description: 'list jobs', load: api },
    { name: 'status', usage: '[options] <job>', description: "a job's state and chunk counts", load: api },
    { name: 'watch', usage: '[options] <job>', description: 'progress bar until the job ends', load: api },
    { name: 'result', usage: '[options] <job>', description: "a finished job's result", load: api },
    { name: 'cancel', usage: '[options] <job>', description: 'cancel a job; every lease returns', load: api },
    { name: 'login-url', usage: '[options]', description: 'a new one-time dashboard login URL', load: api },
    { name: 'logout-all', usage: '[options]', description: 'end every dashboard session (browsers must log in again)', load: api },
    { name: 'node', usage: '', description: 'one worker node: node clear NAME', load: api },
    { name: 'nodes', usage: '[options]', description: 'list worker nodes', load: api },
    { name: 'ha', usage: '[options]', description: 'high availability: which head candidate leads, the others, the election history', load: api },
    { name: 'hosts', usage: '[options] [patterns...]', description: "expand host patterns into a host list, one per line: braces '192.168.{4..67}.{1..3}', CIDR 10.0.0.0/29, names, user@host:port", load: deploy },
    { name: 'deploy', usage: '[options]', description: 'install bramble on hosts over SSH and start worker instances as services; waits until they joined the head', load: deploy },
    { name: 'undeploy', usage: '[options]', description: 'stop and remove the worker services and files deploy installed on hosts', load: deploy },
    { name: 'service', usage: '', description: 'run bramble on this machine as a service: systemd units, or supervised processes without systemd/root', load: deploy },
    { name: 'mpirun', usage: '[options] <command...>', description: 'run an MPI program (Open MPI or MPICH) on the workers that allow it: no SSH keys, no hostfile, no copying', load: mpi },
  ];
})();

/** The command a command line names (`bramble help run` names run), or undefined. */
function commandOf(argv: readonly string[]): string | undefined {
  const args = argv.slice(2);
  const first = args.find((a) => !a.startsWith('-'));
  if (first === 'help') return args[args.indexOf('help') + 1];
  return first;
}

/**
 * The program for a command line: the named command (and those sharing its module) in full, the
 * others as one-line entries for the listing. With `all`, every command in full (tests, docs).
 */
export async function buildProgram(argv: readonly string[] = [], all = false): Promise<Command> {
  const program = new Command('bramble');
  program
    .description('cluster computing for Raspberry Pi clusters, lab machines and a single laptop')
    .version(VERSION)
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  const name = commandOf(argv);
  const chosen = all ? COMMANDS : COMMANDS.filter((c) => c.name === name);
  const loaders = [...new Set(chosen.map((c) => c.load))];
  const registers = await Promise.all(loaders.map((l) => l()));
  const full = new Map<string, Register>();
  for (const c of COMMANDS) {
    const k = loaders.indexOf(c.load);
    if (k >= 0) full.set(c.name, registers[k] as Register);
  }
  const registered = new Set<Register>();
  const stubs = new Map<Command, string>();
  program.configureHelp({
    subcommandTerm: (cmd) => {
      const usage = stubs.get(cmd);
      return usage === undefined ? Help.prototype.subcommandTerm.call(program.createHelp(), cmd) : `${cmd.name()}${usage ? ' ' + usage : ''}`;
    },
  });
  for (const c of COMMANDS) {
    const reg = full.get(c.name);
    if (reg) {
      // a module registers all its commands at once (they are neighbours in COMMANDS: the order holds)
      if (!registered.has(reg)) reg(program);
      registered.add(reg);
    } else if (!program.commands.some((k) => k.name() === c.name)) {
      stubs.set(program.command(c.name).description(c.description).allowUnknownOption().allowExcessArguments(), c.usage);
    }
  }
  return program;
}

/** Runs the CLI; bad input exits 2 with one line naming what was wrong. */
export async function main(argv: string[]): Promise<void> {
  try {
    if (argv[2] === 'agent') {
      // ssh's shape, `bramble agent HOST CMD...`: CMD's own options (`orted -mca ...`) are not ours
      const { agentCommand } = await import('./commands/mpi.js');
      process.exitCode = await agentCommand(argv.slice(3));
      return;
    }
    const program = await buildProgram(argv);
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') {
        process.exitCode = 0;
        return;
      }
      process.exitCode = EXIT_USAGE;
      return; // commander already printed "error: ..."
    }
    if (err instanceof InputError) {
      process.stderr.write(`error: ${err.message}\n`);
      process.exitCode = EXIT_USAGE;
      return;
    }
    const { ApiError } = await import('./api-client.js');
    if (err instanceof ApiError) {
      process.stderr.write(`error: ${err.message}\n`);
      // a reused --id with other settings is the user's input too
      process.exitCode = err.status === 400 || err.code === 'ID_CONFLICT' ? EXIT_USAGE : 1;
      return;
    }
    if (err instanceof BrambleError) {
      process.stderr.write(`error: ${err.message}\n`);
      process.exitCode = 1;
      return;
    }
    throw err;
  }
}
