import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { Option } from 'commander';
import { InputError, splitHostPort } from '../core/index.js';
import { defaultDataDir, isInitialised, loadCluster, parseJoinToken, readHeadState } from '../trust/index.js';
import type { Bundle } from './bundle.js';
import { buildBundle, packageRoot, readBundle } from './bundle.js';
import type { HostOutcome, RemoteOptions } from './deployer.js';
import { deploy, failedHostsFile, undeploy } from './deployer.js';
import { HeadApi } from './head-api.js';
import type { HostEntry, Target } from './host-list.js';
import { excludeHosts, expandHostPattern, formatHostEntry, parseHostFile, toTargets } from './host-list.js';
import { KnownHosts, defaultKnownHostsFile } from './known-hosts.js';
import { LiveTable } from './live-table.js';
import type { ServiceResult, ServiceStatus } from './service.js';
import { WORKER_CONFIG, headStatus, installHead, installWorkers, uninstallHead, uninstallWorkers, workerStatus } from './service.js';
import type { Credentials, SshTarget } from './ssh-session.js';
import { defaultIdentities, loadIdentity } from './ssh-session.js';

const collect = (v: string, prev: string[]): string[] => [...prev, v];

export const DEFAULT_REMOTE_DIR = '.bramble-worker';

function intOption(value: unknown, flag: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(String(value).replaceAll('_', ''));
  if (!Number.isInteger(n) || n < min || n > max) throw new InputError(flag, `${flag} must be an integer from ${min} to ${max} (got ${String(value)})`);
  return n;
}

function modeOption(value: unknown): 'auto' | 'systemd' | 'supervised' {
  const m = String(value ?? 'auto');
  if (m !== 'auto' && m !== 'systemd' && m !== 'supervised') throw new InputError('--mode', `--mode must be auto, systemd or supervised (got ${m})`);
  return m;
}

function readHostFile(file: string, flag: string): HostEntry[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InputError(flag, `${flag}: cannot read ${file}: ${(err as Error).message}`);
  }
  return parseHostFile(text, file);
}

/** Host entries from files and patterns, minus exclusions. */
function gatherHosts(o: { files: string[]; patterns: string[]; exclude: string[]; fileFlag: string }): HostEntry[] {
  const entries: HostEntry[] = [];
  for (const f of o.files) entries.push(...readHostFile(f, o.fileFlag));
  for (const p of o.patterns) entries.push(...expandHostPattern(p));
  const ex: HostEntry[] = [];
  for (const x of o.exclude) ex.push(...(existsSync(x) ? readHostFile(x, '--exclude') : expandHostPattern(x, '--exclude ')));
  return excludeHosts(entries, ex);
}

interface RemoteFlags {
  hosts: string[];
  host: string[];
  exclude: string[];
  user?: string;
  port?: string;
  identity: string[];
  passwordEnv?: string;
  agent: boolean;
  knownHosts?: string;
  acceptNew?: boolean;
  parallel?: string;
  retries?: string;
  timeout?: string;
  remoteDir?: string;
  node?: string;
  mode?: string;
  failed?: string;
  json?: boolean;
  data?: string;
}

function remoteOptions(cmd: Command): Command {
  return cmd
    .option('--hosts <file>', 'host file: one host per line or several per line, # comments, user@host:port, braces, CIDR (repeatable)', collect, [])
    .option('--host <pattern>', "hosts given inline, e.g. 'pi@10.0.0.{2..9}' (repeatable)", collect, [])
    .option('--exclude <pattern>', 'leave out these hosts (a pattern or a host file; repeatable)', collect, [])
    .option('--user <user>', 'SSH user where the list has no user@ (default: your user name)')
    .option('--port <port>', 'SSH port where the list has no :port (default 22)')
    .option('--identity <key>', 'private key file (repeatable; default: ssh-agent and ~/.ssh/id_ed25519, id_ecdsa, id_rsa)', collect, [])
    .option('--password-env <VAR>', 'log in with the password held in this environment variable (never on the command line)')
    .option('--no-agent', 'do not use ssh-agent (SSH_AUTH_SOCK)')
    .option('--known-hosts <file>', 'known hosts file (default ~/.ssh/known_hosts)')
    .option('--accept-new', 'trust and record the key of a host not in known_hosts yet (a changed key is always refused)')
    .option('--parallel <n>', 'hosts at once (default 16)')
    .option('--retries <n>', 'tries per host when the connection fails (default 3)')
    .option('--timeout <seconds>', 'SSH connect and handshake timeout (default 10)')
    .option('--remote-dir <dir>', `directory on the hosts, relative to the home directory (default ${DEFAULT_REMOTE_DIR})`)
    .option('--node <path>', 'Node.js on the hosts (default: found on PATH, ~/.local/bin, nvm)')
    .option('--failed <file>', 'write the failed hosts here, usable as --hosts (default failed-hosts.txt)')
    .option('--json', 'print the outcome as JSON')
    .option('--data <dir>', 'data dir of the cluster (default ~/.bramble or BRAMBLE_DATA)');
}

async function resolveRemote(o: RemoteFlags, onEvent: RemoteOptions['onEvent']): Promise<{ targets: Target[]; remote: RemoteOptions; accepted: string[] }> {
  if (o.hosts.length === 0 && o.host.length === 0) throw new InputError('--hosts', '--hosts FILE (or --host PATTERN) is required: the hosts to deploy to (`bramble hosts` makes lists)');
  const entries = gatherHosts({ files: o.hosts, patterns: o.host, exclude: o.exclude, fileFlag: '--hosts' });
  const port = intOption(o.port, '--port', 1, 65535) ?? 22;
  const targets = toTargets(entries, { user: o.user ?? os.userInfo().username, port });
  if (targets.length === 0) throw new InputError('--hosts', '--hosts: the list is empty (after --exclude)');
  const credentials: Credentials = { identities: [] };
  for (const f of o.identity) credentials.identities.push(await loadIdentity(path.resolve(f)));
  if (o.identity.length === 0) credentials.identities.push(...(await defaultIdentities()));
  if (o.agent && process.env['SSH_AUTH_SOCK']) credentials.agent = process.env['SSH_AUTH_SOCK'];
  if (o.passwordEnv !== undefined) {
    const pw = process.env[o.passwordEnv];
    if (pw === undefined) throw new InputError('--password-env', `--password-env: the environment variable ${o.passwordEnv} is not set`);
    credentials.password = pw;
  }
  const accepted: string[] = [];
  const remote: RemoteOptions = {
    ssh: {
      knownHosts: new KnownHosts(path.resolve(o.knownHosts ?? defaultKnownHostsFile())),
      acceptNew: o.acceptNew === true,
      credentials,
      timeoutMs: (intOption(o.timeout, '--timeout', 1, 600) ?? 10) * 1000,
      onAccepted: (t: SshTarget, fp: string) => accepted.push(`${t.user}@${t.host}:${t.port} ${fp}`),
    },
    parallel: intOption(o.parallel, '--parallel', 1, 1024) ?? 16,
    retries: intOption(o.retries, '--retries', 1, 100) ?? 3,
    remoteDir: o.remoteDir ?? DEFAULT_REMOTE_DIR,
    ...(o.node ? { node: o.node } : {}),
    mode: modeOption(o.mode),
    onEvent,
  };
  if (remote.remoteDir === '' || remote.remoteDir === '/' || remote.remoteDir.split('/').includes('..')) throw new InputError('--remote-dir', `--remote-dir must be a directory of its own (got ${JSON.stringify(remote.remoteDir)})`);
  return { targets, remote, accepted };
}

function summary(command: string, outcomes: HostOutcome[], failedFile: string, accepted: string[], extra: string[]): string {
  const ok = outcomes.filter((h) => h.ok);
  const failed = outcomes.filter((h) => !h.ok);
  const lines: string[] = [];
  if (command === 'deploy') {
    const inst = ok.reduce((n, h) => n + h.instances.length, 0);
    const started = ok.reduce((n, h) => n + h.instances.filter((i) => i.action === 'started' || i.action === 'restarted').length, 0);
    lines.push(`deployed: ${inst} worker instance${inst === 1 ? '' : 's'} on ${ok.length} host${ok.length === 1 ? '' : 's'} (${started} started or restarted, ${inst - started} already running)`);
  } else lines.push(`undeployed: ${ok.length} host${ok.length === 1 ? '' : 's'}`);
  for (const a of accepted) lines.push(`recorded new host key: ${a}`);
  const notes = new Map<string, string[]>();
  for (const h of ok) for (const n of h.notes) notes.set(n, [...(notes.get(n) ?? []), h.host]);
  for (const [n, hosts] of notes) lines.push(`note (${hosts.length > 3 ? `${hosts.length} hosts` : hosts.join(', ')}): ${n}`);
  lines.push(...extra);
  if (failed.length > 0) {
    lines.push(`failed: ${failed.length} host${failed.length === 1 ? '' : 's'} (listed in ${failedFile}; retry with: bramble ${command} --hosts ${failedFile})`);
    const w = Math.max(...failed.map((h) => h.host.length));
    for (const h of failed) lines.push(`  ${h.host.padEnd(w)}  ${h.step.padEnd(9)}  ${h.reason ?? ''}`);
  }
  return lines.join('\n') + '\n';
}

function writeFailed(file: string, command: string, outcomes: HostOutcome[]): void {
  writeFileSync(file, failedHostsFile(outcomes, command, file));
}

async function theBundle(o: { bundle?: string }, dataDir: string): Promise<Bundle> {
  if (o.bundle) return readBundle(path.resolve(o.bundle));
  return buildBundle({ cacheDir: path.join(dataDir, 'deploy') });
}

function printService(r: ServiceResult): string {
  const lines = [`${r.processes.length === 0 ? 'nothing to do' : r.processes.map((p) => `  ${p.key.padEnd(10)} ${(p.name ?? '').padEnd(24)} ${p.action.padEnd(9)} ${p.pid !== null ? `pid ${p.pid}` : ''}${p.reason ? `  (${p.reason})` : ''}`).join('\n')}`];
  lines.unshift(`${r.mode} processes in ${r.dir}:`);
  for (const n of r.notes) lines.push(`note: ${n}`);
  return lines.join('\n') + '\n';
}

function printStatus(list: ServiceStatus[]): string {
  if (list.length === 0) return 'no bramble services installed here\n';
  return (
    list
      .map((s) => `${s.key.padEnd(10)} ${(s.name ?? '').padEnd(24)} ${s.mode.padEnd(10)} ${s.state.padEnd(8)} ${s.pid !== null ? `pid ${s.pid}` : ''}${s.since ? `  since ${s.since}` : ''}\n${''.padEnd(11)}log: ${s.log}`)
      .join('\n') + '\n'
  );
}

/** Adds `hosts`, `deploy`, `undeploy` and `service` to the program. */
export function registerDeployCommands(program: Command): void {
  program
    .command('hosts')
    .description("expand host patterns into a host list, one per line: braces '192.168.{4..67}.{1..3}', CIDR 10.0.0.0/29, names, user@host:port")
    .argument('[patterns...]', 'host patterns')
    .option('-f, --file <file>', 'read patterns from a host file (repeatable)', collect, [])
    .option('--exclude <pattern>', 'leave out these hosts (a pattern or a host file; repeatable)', collect, [])
    .option('--count', 'print only how many hosts there are')
    .action((patterns: string[], o: { file: string[]; exclude: string[]; count?: boolean }) => {
      if (patterns.length === 0 && o.file.length === 0) throw new InputError('patterns', "give host patterns (e.g. bramble hosts '192.168.{4..67}.{1..3}') or --file FILE");
      const list = gatherHosts({ files: o.file, patterns, exclude: o.exclude, fileFlag: '--file' });
      process.stdout.write(o.count ? `${list.length}\n` : list.map(formatHostEntry).join('\n') + (list.length ? '\n' : ''));
    });

  remoteOptions(
    program
      .command('deploy')
      .description('install bramble on hosts over SSH and start worker instances as services; waits until they joined the head'),
  )
    .option('--instances <n>', 'worker instances per host (default: how often the host is listed, at least 1)')
    .option('--slots <n>', 'slots per instance (default: one per core)')
    .option('--allow-code', 'the workers run task modules (JS/TS) the head admin submits, sandboxed')
    .option('--allow-exec', 'the workers run commands (any program) the head admin submits')
    .option('--head <host:port>', "the head's worker port as the hosts reach it (default: this machine's address on each SSH connection, and the running head's port)")
    .option('--name <template>', 'worker name prefix, instance I is PREFIX-I: {host} {port} {user} {hostname} (default {host}, with :{port} when not 22)')
    .option('--restart', 'restart instances even when nothing changed')
    .addOption(new Option('--mode <mode>', 'auto: systemd units where systemd runs and root or passwordless sudo is there, else supervised processes').choices(['auto', 'systemd', 'supervised']).default('auto'))
    .option('--bundle <file>', 'install this bundle (from --write-bundle, e.g. built on a Pi) instead of this installation')
    .option('--write-bundle <file>', 'only write the bundle of this installation to FILE and exit')
    .option('--join-timeout <seconds>', 'time for each instance to join the head (default 90)')
    .option('--no-wait', 'do not wait for the instances to join the head')
    .action(async (o: RemoteFlags & { instances?: string; slots?: string; allowCode?: boolean; allowExec?: boolean; head?: string; name?: string; restart?: boolean; bundle?: string; writeBundle?: string; joinTimeout?: string; wait: boolean }) => {
      const dataDir = path.resolve(o.data ?? defaultDataDir());
      if (o.writeBundle) {
        const tmp = mkdtempSync(path.join(os.tmpdir(), 'bramble-bundle-'));
        let b: Bundle;
        try {
          b = await buildBundle({ cacheDir: tmp, root: packageRoot() });
          copyFileSync(b.file, path.resolve(o.writeBundle));
        } finally {
          rmSync(tmp, { recursive: true, force: true });
        }
        const m = b.manifest;
        process.stdout.write(
          `wrote ${o.writeBundle}: bramble ${m.version} bundle ${m.id}, ${(b.size / 1e6).toFixed(1)} MB (${m.packages} packages, ${m.files} files, ${(m.bytes / 1e6).toFixed(1)} MB unpacked); ` +
            `native add-ons for ${m.platform}-${m.arch}, Node ABI ${m.abi}\n`,
        );
        return;
      }
      const instances = intOption(o.instances, '--instances', 1, 64) ?? null;
      const slots = intOption(o.slots, '--slots', 1, 1024);
      const joinTimeoutMs = (intOption(o.joinTimeout, '--join-timeout', 1, 3600) ?? 90) * 1000;
      if (o.head !== undefined) splitHostPort(o.head, '--head');
      if (!isInitialised(dataDir)) throw new InputError('--data', `no cluster in ${dataDir}: run \`bramble init --data ${dataDir}\` and start \`bramble head\` first`);
      const cluster = loadCluster(dataDir);
      let head: HeadApi | null = null;
      if (o.wait || o.head === undefined) head = HeadApi.fromDataDir(dataDir);
      if (head) await head.nodes(); // fail now, not on every host, when the head does not answer
      const table = new LiveTable(process.stderr, 'deploy');
      const { targets, remote, accepted } = await resolveRemote(o, (host, st, result, state) => table.update(host, st, result, state));
      const failedFile = path.resolve(o.failed ?? 'failed-hosts.txt');
      const bundle = await theBundle(o, dataDir);
      const extra = [`bundle: bramble ${bundle.manifest.version} ${bundle.manifest.id} (${(bundle.size / 1e6).toFixed(1)} MB)`];
      const repeated = targets.filter((t) => t.listed > 1);
      if (repeated.length > 0 && instances !== null) extra.push(`note: ${repeated.length} host(s) listed more than once; --instances ${instances} wins over the repeats`);
      for (const t of targets) table.add(t.entry);
      const outcomes = await deploy(targets, {
        ...remote,
        bundle,
        head,
        ...(o.head ? { headAddress: o.head } : {}),
        joinToken: cluster.joinToken,
        instances,
        ...(slots !== undefined ? { slots } : {}),
        allowCode: o.allowCode === true,
        allowExec: o.allowExec === true,
        ...(o.name ? { nameTemplate: o.name } : {}),
        restart: o.restart === true,
        wait: o.wait,
        joinTimeoutMs,
      });
      table.finish();
      writeFailed(failedFile, 'deploy', outcomes);
      if (o.json) process.stdout.write(JSON.stringify({ ok: outcomes.every((h) => h.ok), bundle: bundle.manifest.id, failedHostsFile: failedFile, hosts: outcomes }) + '\n');
      else process.stdout.write(summary('deploy', outcomes, failedFile, accepted, extra));
      if (outcomes.some((h) => !h.ok)) process.exitCode = 1;
    });

  remoteOptions(program.command('undeploy').description('stop and remove the worker services and files deploy installed on hosts')).action(async (o: RemoteFlags) => {
    const table = new LiveTable(process.stderr, 'undeploy');
    const { targets, remote, accepted } = await resolveRemote(o, (host, st, result, state) => table.update(host, st, result, state));
    for (const t of targets) table.add(t.entry);
    const outcomes = await undeploy(targets, remote);
    table.finish();
    const failedFile = path.resolve(o.failed ?? 'failed-hosts.txt');
    writeFailed(failedFile, 'undeploy', outcomes);
    if (o.json) process.stdout.write(JSON.stringify({ ok: outcomes.every((h) => h.ok), failedHostsFile: failedFile, hosts: outcomes }) + '\n');
    else process.stdout.write(summary('undeploy', outcomes, failedFile, accepted, []));
    if (outcomes.some((h) => !h.ok)) process.exitCode = 1;
  });

  const service = program.command('service').description('run bramble on this machine as a service: systemd units, or supervised processes without systemd/root');
  const serviceDir = (o: { dir?: string }): string => path.resolve(o.dir ?? path.join(os.homedir(), DEFAULT_REMOTE_DIR));
  service
    .command('install')
    .description('install and start worker instances (default) or the head on this machine; running it again changes only what differs')
    .argument('[role]', 'worker | head', 'worker')
    .option('--head <host:port>', 'worker: the head worker port')
    .option('--join <token>', 'worker: the join token (`bramble token` on the head)')
    .option('--data <dir>', 'head: its data dir; worker: take the join token from this cluster dir (a head on this machine)')
    .option('--instances <n>', 'worker: instances (default 1)')
    .option('--slots <n>', 'worker: slots per instance (default: one per core)')
    .option('--name <prefix>', 'worker: instance I is named PREFIX-I (default: hostname-I)')
    .option('--dir <dir>', `worker: service directory (default ~/${DEFAULT_REMOTE_DIR})`)
    .addOption(new Option('--mode <mode>', 'auto, systemd (needs root) or supervised').choices(['auto', 'systemd', 'supervised']).default('auto'))
    .option('--restart', 'restart even what runs unchanged')
    .option('--json', 'print the outcome as JSON')
    .addOption(new Option('--app <dir>', 'the bramble installation to run').hideHelp())
    .addOption(new Option('--node <path>', 'the node binary to run it with').hideHelp())
    .action(async (role: string, o: { head?: string; join?: string; data?: string; instances?: string; slots?: string; name?: string; dir?: string; mode: string; restart?: boolean; json?: boolean; app?: string; node?: string }) => {
      const app = path.resolve(o.app ?? packageRoot());
      const node = o.node ?? process.execPath;
      let result: ServiceResult;
      if (role === 'head') {
        const data = path.resolve(o.data ?? defaultDataDir());
        if (!isInitialised(data)) throw new InputError('--data', `no cluster in ${data}: run \`bramble init --data ${data}\` first`);
        result = await installHead({ data, app, node, mode: modeOption(o.mode), restart: o.restart === true });
      } else if (role === 'worker') {
        const dir = serviceDir(o);
        const cfgFile = path.join(dir, WORKER_CONFIG);
        let token = o.join;
        let headAddr = o.head;
        if (token === undefined && o.data !== undefined) {
          const data = path.resolve(o.data);
          token = loadCluster(data).joinToken;
          if (headAddr === undefined) {
            headAddr = `127.0.0.1:${readHeadState(data)?.workerPort ?? 7070}`;
          }
        }
        if (token !== undefined || headAddr !== undefined) {
          if (token === undefined) throw new InputError('--join', '--join TOKEN is required with --head (or --data of a cluster on this machine)');
          if (headAddr === undefined) throw new InputError('--head', '--head HOST:PORT is required with --join');
          parseJoinToken(token);
          splitHostPort(headAddr, '--head');
          const slots = intOption(o.slots, '--slots', 1, 1024);
          const { ServiceDir } = await import('./service.js');
          const sd = new ServiceDir(dir);
          sd.ensure();
          sd.write(cfgFile, JSON.stringify({ head: headAddr, join: token, ...(slots !== undefined ? { slots } : {}), logLevel: 'info' }, null, 2) + '\n', 0o600);
        } else if (!existsSync(cfgFile)) {
          throw new InputError('--head', `give --head HOST:PORT and --join TOKEN (or --data of a cluster on this machine): ${cfgFile} does not exist yet`);
        }
        result = await installWorkers({
          dir,
          app,
          node,
          instances: intOption(o.instances, '--instances', 0, 64) ?? 1,
          ...(o.name ? { namePrefix: o.name } : {}),
          mode: modeOption(o.mode),
          restart: o.restart === true,
        });
      } else throw new InputError('role', `role must be worker or head (got ${role})`);
      if (o.json) process.stdout.write(JSON.stringify(result) + '\n');
      else process.stdout.write(printService(result));
      if (result.processes.some((p) => p.action === 'failed')) process.exitCode = 1;
    });

  service
    .command('uninstall')
    .description('stop and remove the worker instances (default), the head, or all bramble services of this machine')
    .argument('[role]', 'worker | head | all', 'worker')
    .option('--dir <dir>', `worker: service directory (default ~/${DEFAULT_REMOTE_DIR})`)
    .option('--data <dir>', 'head: its data dir')
    .option('--json', 'print the outcome as JSON')
    .action(async (role: string, o: { dir?: string; data?: string; json?: boolean }) => {
      if (!['worker', 'head', 'all'].includes(role)) throw new InputError('role', `role must be worker, head or all (got ${role})`);
      const results: ServiceResult[] = [];
      if (role !== 'head') {
        const dir = serviceDir(o);
        const r = await uninstallWorkers(dir);
        rmConfig(dir);
        results.push(r);
      }
      if (role !== 'worker') results.push(await uninstallHead(path.resolve(o.data ?? defaultDataDir()), packageRoot(), process.execPath));
      const merged: ServiceResult = { mode: results[0]?.mode ?? 'supervised', dir: results.map((r) => r.dir).join(', '), processes: results.flatMap((r) => r.processes), notes: [] };
      if (o.json) process.stdout.write(JSON.stringify(merged) + '\n');
      else process.stdout.write(printService(merged));
    });

  service
    .command('status')
    .description('the bramble services of this machine: mode, state, pid, log')
    .option('--dir <dir>', `worker service directory (default ~/${DEFAULT_REMOTE_DIR})`)
    .option('--data <dir>', 'head data dir (default ~/.bramble)')
    .option('--json', 'print JSON')
    .action(async (o: { dir?: string; data?: string; json?: boolean }) => {
      const list = await workerStatus(serviceDir(o));
      const h = await headStatus(path.resolve(o.data ?? defaultDataDir()), packageRoot(), process.execPath);
      if (h) list.unshift(h);
      if (o.json) process.stdout.write(JSON.stringify({ services: list }) + '\n');
      else process.stdout.write(printStatus(list));
    });
}

/** The worker config holds the join token: it goes with the services. */
function rmConfig(dir: string): void {
  rmSync(path.join(dir, WORKER_CONFIG), { force: true });
}
