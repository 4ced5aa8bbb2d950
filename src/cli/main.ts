import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { BrambleError, InputError, TERMINAL_STATES, splitHostPort } from '../core/index.js';
import type { JobInput } from '../tasks/index.js';
import { findTask, planJob, publicTasks, taskFlags } from '../tasks/index.js';
import { headSettings, startHeadProcess } from '../head/index.js';
import type { JobStatus } from '../head/index.js';
import { startWorkerProcess } from '../worker/main.js';
import { addCompatFlags, CompatConfig, compatWiring } from '../compat/index.js';
import { acquireInstanceLock, registerDeployCommands } from '../deploy/index.js';
import {
  sha256Hex,
  defaultDataDir,
  initCluster,
  isInitialised,
  loadCluster,
  parseJoinToken,
  rotateSecret,
  FILES,
} from '../trust/index.js';
import { ApiClient, ApiError, resolveApi } from './api-client.js';
import { HeadConfig, WorkerConfig, addSettingFlags, resolveConfig } from './config.js';
import { formatResult } from './format.js';
import { makeLogger } from './logger.js';
import { ProgressBar } from './progress.js';
import type { PreparedModule } from './code-jobs.js';
import { execParams, isModuleFile, moduleParams, prepareModule, readExecFiles } from './code-jobs.js';

export const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Exit status for bad input (flags, config, arguments). */
const EXIT_USAGE = 2;

/** Task-specific flags shared by `run` and `submit`. */
function taskOptions(cmd: Command): Command {
  cmd
    .option('--start <n>', 'first number of the range (1000000, 1_000_000, 1e6, 2^32 all work)')
    .option('--end <n>', 'last number of the range (inclusive, at most 2^64-1)')
    .option('--chunk <n>', 'numbers per chunk (default: small chunks, leased in spans sized by --chunk-time)')
    .option('--chunk-time <seconds>', 'with no --chunk: work per lease for each worker, measured (default 2)')
    .option('--priority <n>', 'higher runs first (default 0)')
    .option('--max-attempts <n>', 'tries before a chunk is quarantined (default 3)');
  for (const f of taskFlags()) cmd.option(f.boolean ? f.flag : `${f.flag} <${f.placeholder}>`, f.help);
  // users' code (issue 12)
  const collect = (v: string, all: string[]): string[] => [...all, v];
  cmd
    .argument('[command...]', 'exec: the command after --, with {start} {end} {index}')
    .option('--param <key=value>', "a task module's parameter (repeat for more)", collect, [])
    .option('--file <file>', 'exec: ship this file into the working directory (repeat for more)', collect, []);
  return cmd;
}

/** A job of any kind from `run`/`submit`'s arguments: a task, a task module file, or exec and its command. */
async function anyJobInput(task: string, words: string[], o: Record<string, unknown>, rawArgs: readonly string[]): Promise<{ input: JobInput; module: PreparedModule | null; files: { name: string; bytes: Uint8Array }[] }> {
  const params = o['param'] as string[];
  const fileFlags = o['file'] as string[];
  if (isModuleFile(task)) {
    if (words.length > 0) throw new InputError('--', `a task module takes no command after -- (got ${words.join(' ')})`);
    if (fileFlags.length > 0) throw new InputError('--file', '--file is for exec: a task module bundles its own imports');
    const module = await prepareModule(task);
    const input = jobInput(module.task.name, o);
    input.params = moduleParams(module.task, params, task);
    return { input, module, files: [] };
  }
  if (params.length > 0) throw new InputError('--param', `--param is for task modules (./task.mjs --param key=value); task ${task} has flags of its own`);
  if (findTask(task)?.code === undefined || task !== 'exec') {
    if (words.length > 0) throw new InputError('task', `unexpected arguments: ${words.join(' ')} (only exec takes a command after --)`);
    if (fileFlags.length > 0) throw new InputError('--file', '--file is for exec');
    return { input: jobInput(task, o), module: null, files: [] };
  }
  const files = readExecFiles(fileFlags);
  const input = jobInput(task, o);
  input.params = { ...input.params, ...execParams(words, rawArgs, Object.fromEntries(files.map((f) => [f.name, sha256Hex(f.bytes)]))) };
  return { input, module: null, files };
}

/** A job from `run`/`submit` flags: each task flag goes to the params of the task that owns it. */
function jobInput(task: string, o: Record<string, unknown>): JobInput {
  const params: Record<string, unknown> = {};
  const s = (k: string): string | undefined => (o[k] === undefined ? undefined : String(o[k]));
  for (const f of taskFlags()) {
    const v = o[f.attribute];
    if (v === undefined) continue;
    // flags that belong to another task are mistakes worth naming
    if (!f.tasks.includes(task)) throw new InputError(f.flag, `${f.flag} does not apply to task ${task}`);
    const name = findTask(task)?.paramInfo.find((p) => p.flag === f.flag)?.name ?? f.param;
    if (f.file) {
      try {
        params[name] = readFileSync(String(v), 'utf8');
      } catch (err) {
        throw new InputError(f.flag, `${f.flag}: cannot read ${String(v)}: ${(err as Error).message}`);
      }
    } else params[name] = v;
  }
  return { task, start: s('start'), end: s('end'), chunk: s('chunk'), chunkTime: s('chunkTime'), priority: s('priority'), maxAttempts: s('maxAttempts'), params };
}

function printJson(v: unknown): void {
  process.stdout.write(JSON.stringify(v) + '\n');
}

function dataDirOf(o: { data?: string }): string {
  return path.resolve(o.data ?? defaultDataDir());
}

async function ensureCluster(dir: string, log: { info: (m: string) => void }): Promise<ReturnType<typeof loadCluster>> {
  if (!isInitialised(dir)) {
    log.info(`no cluster in ${dir} yet: creating one (CA, certificates, join token)`);
    return initCluster(dir);
  }
  return loadCluster(dir);
}

/**
 * A worker instance's id, kept in the data dir so a restarted worker is the same node on the
 * dashboard (hostnames repeat across a classroom of Pis, so the id is random, made once).
 */
function stableNodeId(dir: string, instance: number): string | undefined {
  const file = path.join(dir, `worker-${instance}.id`);
  try {
    const id = readFileSync(file, 'utf8').trim();
    if (/^[\w.#:-]{1,128}$/.test(id)) return id;
  } catch {
    /* first start */
  }
  const id = `${os.hostname().slice(0, 40)}#${instance}-${randomBytes(4).toString('hex')}`;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(file, id + '\n');
    return id;
  } catch {
    return undefined; // a read-only place: a fresh id each start
  }
}

/** Polls a job until it ends, drawing the progress bar. */
async function follow(getStatus: () => Promise<JobStatus> | JobStatus, bar: ProgressBar, intervalMs = 200): Promise<JobStatus> {
  for (;;) {
    const st = await getStatus();
    bar.update(st.chunks.done + st.chunks.failed, st.chunks.total, st.rate, st.etaSeconds);
    if (TERMINAL_STATES.has(st.state)) {
      bar.done();
      return st;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

async function writeFileFrom(file: string, write: (out: NodeJS.WritableStream & import('node:stream').Writable) => Promise<void>): Promise<void> {
  const out = createWriteStream(file);
  await once(out, 'open');
  await write(out);
  out.end();
  await once(out, 'finish');
}

export function buildProgram(): Command {
  const program = new Command('bramble');
  program
    .description('cluster computing for Raspberry Pi clusters, lab machines and a single laptop')
    .version(VERSION)
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  // ---- run: a head and local slots in one command ----
  taskOptions(
    program
      .command('run')
      .argument('<task>', publicTasks().map((t) => t.name).join(' | ') + ' | ./task.mjs or .ts (a task module)')
      .description('run a job on this machine: a head and local worker slots inside this one command')
      .option('--workers <n>', 'local worker slots (default: one per core)')
      .option('--out <file>', 'write the full output (every prime, one per line; the final grid as RLE)')
      .option('--json', 'print one JSON object')
      .option('--log-level <level>', 'log level', 'error'),
  ).action(async (task: string, words: string[], o: Record<string, unknown>) => {
    const workers = o['workers'] === undefined ? os.availableParallelism() : Number(o['workers']);
    if (!Number.isInteger(workers) || workers < 1 || workers > 1024) throw new InputError('--workers', `--workers must be a positive integer (got ${String(o['workers'])})`);
    const outParam = findTask(task)?.outputParam; // e.g. primes: --out keeps every prime (--list)
    const outFlag = taskFlags().find((f) => f.param === outParam && f.tasks.includes(task));
    if (o['out'] !== undefined && outFlag) o[outFlag.attribute] = true;
    const { input, module, files } = await anyJobInput(task, words, o, (program as unknown as { rawArgs?: string[] }).rawArgs ?? process.argv);
    planJob(input, workers); // validate before starting anything
    const logger = makeLogger(String(o['logLevel']), { toStderr: true });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bramble-run-'));
    const cluster = await initCluster(dir); // throwaway credentials: TLS and auth even on loopback
    const hp = await startHeadProcess({ cluster, dataDir: dir, bind: '127.0.0.1', port: 0, httpPort: null, insecure: false, logger, version: VERSION });
    // the user's own code on their own machine: no switch needed (issue 12)
    for (const code of [...(module ? [module.bytes] : []), ...files.map((f) => f.bytes)]) hp.head.code?.put(code);
    const agent = startWorkerProcess({
      ...{ host: '127.0.0.1', port: hp.workerPort, caHash: cluster.caHash, secret: cluster.secret, slots: workers, name: 'local', logger, version: VERSION },
      ...{ allowCode: true, allowExec: true, codeDir: path.join(dir, 'code-local') },
    });
    const cleanup = async (): Promise<void> => {
      await agent.stop();
      await hp.stop();
      rmSync(dir, { recursive: true, force: true });
    };
    const onSignal = (): void => {
      void cleanup().finally(() => process.exit(130));
    };
    process.once('SIGINT', onSignal);
    try {
      const job = hp.head.submit(input);
      const st = await follow(() => hp.head.status(job.id), new ProgressBar(process.stderr, o['json'] ? false : undefined), 100);
      if (st.state === 'cancelled') throw new BrambleError('CANCELLED', `job ${job.id} was cancelled`);
      const result = hp.head.result(job.id);
      if (o['out'] !== undefined) await writeFileFrom(String(o['out']), (out) => hp.head.writeOutput(job.id, out));
      const { id: _id, state: _s, ...shown } = result;
      if (o['json']) printJson({ ...shown, state: st.state, workers });
      else process.stdout.write(formatResult(shown) + `  (${workers} slot${workers > 1 ? 's' : ''})\n`);
      if (st.state === 'failed') process.exitCode = 1;
    } finally {
      process.off('SIGINT', onSignal);
      await cleanup();
    }
  });

  // ---- init / token ----
  program
    .command('init')
    .description('create a cluster: CA, head certificate, cluster secret, admin token, config')
    .option('--data <dir>', 'data dir (default ~/.bramble or BRAMBLE_DATA)')
    .option('--san <names>', 'extra names/addresses for the head certificate, comma-separated')
    .option('--force', 'replace an existing cluster')
    .action(async (o: { data?: string; san?: string; force?: boolean }) => {
      const dir = dataDirOf(o);
      let cluster: Awaited<ReturnType<typeof initCluster>>;
      try {
        cluster = await initCluster(dir, { force: o.force, sans: o.san ? o.san.split(',').map((s) => s.trim()).filter(Boolean) : [] });
      } catch (err) {
        // an existing cluster is a usage mistake (exit 2), naming the flag
        throw err instanceof BrambleError && err.code === 'CLUSTER_DIR' ? new InputError('--data', err.message) : err;
      }
      const cfg = path.join(dir, FILES.config);
      if (!existsSync(cfg)) {
        const { writeConfigFile } = await import('../trust/index.js');
        const d = headSettings();
        writeConfigFile(cfg, { head: { port: d.port, httpPort: d.httpPort, bind: d.bind }, worker: {} });
      }
      process.stdout.write(
        `cluster created in ${dir}\n` +
          `  CA certificate   ${path.join(dir, FILES.caCert)} (sha256 ${cluster.caHash})\n` +
          `  admin token      ${path.join(dir, FILES.adminToken)} (mode 0600)\n` +
          `  config           ${cfg}\n\n` +
          `start the head:    bramble head --data ${dir}\n` +
          `on each worker:    bramble worker --head ${os.hostname()}:7070 --join ${cluster.joinToken}\n\n` +
          `join token:\n${cluster.joinToken}\n`,
      );
    });

  const token = program
    .command('token')
    .description('print the join token (alone on the last line)')
    .option('--data <dir>', 'data dir')
    .action((o: { data?: string }) => {
      const c = loadCluster(dataDirOf(o));
      process.stdout.write(`join token (workers: bramble worker --head HEAD:7070 --join TOKEN):\n${c.joinToken}\n`);
    });
  token
    .command('rotate')
    .description('make a new cluster secret; old join tokens stop working')
    .option('--data <dir>', 'data dir')
    .action((o: { data?: string }) => {
      const c = rotateSecret(dataDirOf({ ...token.opts(), ...o }));
      process.stdout.write(`new join token (restart the head; give workers the new token):\n${c.joinToken}\n`);
    });

  // ---- head ----
  addSettingFlags(addCompatFlags(program
    .command('head')), HeadConfig)
    .description('run the head: chunk ledger, worker port (TLS), HTTP API and dashboard')
    .option('--data <dir>', 'data dir (default ~/.bramble or BRAMBLE_DATA)')
    .option('--config <file>', 'config file (JSON; default: the data dir config.json, section "head")')
    .action(async (o: Record<string, unknown>) => {
      const dir = dataDirOf(o as { data?: string });
      const files = o['config'] ? [{ file: path.resolve(String(o['config'])) }] : [{ file: path.join(dir, FILES.config), section: 'head' }];
      if (o['config'] && !existsSync(String(o['config']))) throw new InputError('--config', `--config: no such file ${String(o['config'])}`);
      const cfg = resolveConfig({ ...HeadConfig, ...CompatConfig }, o, files);
      const logger = makeLogger(cfg.logLevel, { insecure: cfg.insecure });
      const compat = compatWiring(cfg, { dataDir: dir, logger });
      const cluster = await ensureCluster(dir, { info: (m) => logger.info(m) });
      const { dashboardRoutes } = await import('../dashboard/index.js');
      const hp = await startHeadProcess({
        cluster,
        dataDir: dir,
        ...cfg,
        logger,
        version: VERSION,
        extendHttp: async (app, head, auth) => {
          await dashboardRoutes(app, head, auth);
          compat.extendHttp(app, head, auth);
        },
      });
      await compat.start(hp.head).catch(async (err: unknown) => {
        await hp.stop();
        throw err;
      });
      if (cfg.insecure) logger.warn('INSECURE MODE: plaintext worker port and HTTP, workers are not authenticated (--insecure)');
      const joinLine = cfg.insecure
        ? `bramble worker --head ${os.hostname()}:${hp.workerPort} --insecure`
        : `bramble worker --head ${os.hostname()}:${hp.workerPort} --join ${cluster.joinToken}`;
      logger.info({ workerPort: hp.workerPort, http: hp.httpUrl, data: dir, leaseMs: cfg.leaseMs, maxFrameBytes: cfg.maxFrameBytes }, `head ready on port ${hp.workerPort}`);
      process.stdout.write(`\ndashboard: ${hp.loginUrl}\nworkers:   ${joinLine}\n\n`);
      const stop = (): void => {
        logger.info('head stopping');
        void compat
          .close()
          .then(() => hp.stop())
          .finally(() => process.exit(0));
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });

  // ---- worker ----
  program
    .command('worker')
    .description('run a worker: computes chunks for a head')
    .option('--head <host:port>', 'the head worker port, e.g. pi-head:7070')
    .option('--join <token>', 'join token printed by `bramble init` / `bramble token`')
    .option('--data <dir>', "read the join token from a head's data dir on this machine")
    .option('--slots <n>', 'chunks computed at once (default: one per core)')
    .option('--name <name>', 'name shown on the dashboard (default: hostname)')
    .option('--instance <n>', 'instance number when several run on one machine (default 0)')
    .option('--prefetch <n>', 'chunks held beyond the slots (default 1; at least 64 per slot while chunks take under 2 ms)')
    .option('--config <file>', 'config file (JSON; default: the data dir config.json, section "worker")')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace, silent')
    .option('--allow-code', 'run task modules (JS/TS) the head admin submits, in a sandboxed child process (docs/security.md)')
    .option('--allow-exec', 'run commands (any program) the head admin submits, as this user')
    .option('--code-cpu-seconds <s>', 'CPU seconds a task module chunk may use (default 300)')
    .option('--code-memory-mb <mb>', "heap cap of a task module's process, MiB (default 512)")
    .addOption(new Option('--insecure', 'talk plaintext to an --insecure head'))
    .action(async (o: Record<string, unknown>) => {
      const dir = dataDirOf(o as { data?: string });
      const files = o['config'] ? [{ file: path.resolve(String(o['config'])) }] : [{ file: path.join(dir, FILES.config), section: 'worker' }];
      if (o['config'] && !existsSync(String(o['config']))) throw new InputError('--config', `--config: no such file ${String(o['config'])}`);
      const { data: _d, config: _c, ...flags } = o;
      const cfg = resolveConfig(WorkerConfig, flags, files);
      if (!cfg.head) throw new InputError('--head', '--head HOST:PORT is required (the head prints it when it starts)');
      const { host, port } = splitHostPort(cfg.head, '--head');
      let caHash: string | null = null;
      let secret: string | null = null;
      if (!cfg.insecure) {
        if (cfg.join) ({ caHash, secret } = parseJoinToken(cfg.join));
        else if (isInitialised(dir)) ({ caHash, secret } = loadCluster(dir));
        else throw new InputError('--join', `--join TOKEN is required (run \`bramble token\` on the head), or --data DIR of a cluster on this machine`);
      }
      await acquireInstanceLock(dir, cfg.instance); // held until the process exits; the error names the pid holding it
      const logger = makeLogger(cfg.logLevel);
      const node = stableNodeId(dir, cfg.instance);
      const agent = startWorkerProcess({
        ...{ host, port, caHash, secret, slots: cfg.slots, name: cfg.name, instance: cfg.instance, prefetch: cfg.prefetch, logger, version: VERSION, node },
        ...{ allowCode: cfg.allowCode, allowExec: cfg.allowExec, codeCpuSeconds: cfg.codeCpuSeconds, codeMemoryMb: cfg.codeMemoryMb, codeDir: path.join(dir, `code-${cfg.instance}`) },
      });
      const stop = (): void => {
        logger.info('worker draining');
        void agent.drain().finally(() => process.exit(0));
        setTimeout(() => process.exit(0), 30_000).unref();
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });

  // ---- API commands ----
  const api = (cmd: Command): Command =>
    cmd
      .option('--head-url <url>', 'head API, e.g. https://pi-head:7080 (default: from the data dir)')
      .option('--token <token>', 'admin token (default: BRAMBLE_TOKEN, or the data dir)')
      .option('--data <dir>', 'data dir of the head on this machine')
      .option('--json', 'print JSON');
  const target = (o: Record<string, unknown>): ReturnType<typeof resolveApi> =>
    resolveApi({ headUrl: o['headUrl'] as string | undefined, token: o['token'] as string | undefined, data: dataDirOf(o as { data?: string }) });
  const client = (o: Record<string, unknown>): ApiClient => new ApiClient(target(o));

  const showStatus = (st: JobStatus): string => {
    const c = st.chunks;
    const pct = (st.progress * 100).toFixed(1);
    return `${st.id}  ${st.task.padEnd(7)} ${st.state.padEnd(9)} ${pct.padStart(5)}%  ${c.done}/${c.total} done, ${c.leased} leased, ${c.pending} pending, ${c.failed} failed${st.waiting ? `\n  ${st.waiting}` : ''}${st.error ? `\n  ${st.error}` : ''}${st.failedChunks.length ? `\n  failed chunks: ${st.failedChunks.slice(0, 3).map((f) => `${f.index}: ${f.error}`).join('\n  ')}` : ''}`;
  };

  taskOptions(api(program.command('submit').argument('<task>', publicTasks().map((t) => t.name).join(' | ') + ' | ./task.mjs or .ts (a task module)').description('submit a job to the head')))
    .option('--wait', 'wait for the job to finish and print its result')
    .action(async (task: string, words: string[], o: Record<string, unknown>) => {
      const { input, module, files } = await anyJobInput(task, words, o, (program as unknown as { rawArgs?: string[] }).rawArgs ?? process.argv);
      planJob(input); // same validation as the head, before any network
      const c = client(o);
      if (module) {
        const up = await c.putBytes<{ task: string }>(`/api/code?module=${encodeURIComponent(path.basename(module.file))}`, module.bytes);
        if (up.task !== module.task.name) throw new BrambleError('CODE', `the head stored the module as ${up.task}, expected ${module.task.name}`);
      }
      for (const f of files) await c.putBytes('/api/code', f.bytes);
      const st = await c.post<JobStatus>('/api/jobs', { ...input });
      if (!o['wait']) {
        if (o['json']) printJson({ id: st.id, state: st.state, chunks: String(st.chunks.total) });
        else process.stdout.write(`submitted job ${st.id}: ${st.chunks.total} chunk(s)\n`);
        return;
      }
      const end = await follow(() => c.get<JobStatus>(`/api/jobs/${st.id}`), new ProgressBar(process.stderr, o['json'] ? false : undefined), 250);
      if (end.state === 'cancelled') throw new BrambleError('CANCELLED', `job ${st.id} was cancelled`);
      const r = await c.get<Record<string, unknown>>(`/api/jobs/${st.id}/result`);
      if (o['json']) printJson(r);
      else process.stdout.write(`job ${st.id}\n${formatResult(r)}\n`);
      if (end.state === 'failed') process.exitCode = 1;
    });

  api(program.command('jobs').description('list jobs')).action(async (o: Record<string, unknown>) => {
    const { jobs } = await client(o).get<{ jobs: JobStatus[] }>('/api/jobs');
    if (o['json']) printJson({ jobs });
    else process.stdout.write(jobs.length === 0 ? 'no jobs\n' : jobs.map(showStatus).join('\n') + '\n');
  });

  api(program.command('status').argument('<job>').description("a job's state and chunk counts")).action(async (id: string, o: Record<string, unknown>) => {
    const st = await client(o).get<JobStatus>(`/api/jobs/${encodeURIComponent(id)}`);
    if (o['json']) printJson(st);
    else process.stdout.write(showStatus(st) + '\n');
  });

  api(program.command('watch').argument('<job>').description('progress bar until the job ends')).action(async (id: string, o: Record<string, unknown>) => {
    const c = client(o);
    const st = await follow(() => c.get<JobStatus>(`/api/jobs/${encodeURIComponent(id)}`), new ProgressBar(process.stderr, o['json'] ? false : undefined), 250);
    if (o['json']) printJson(st);
    else process.stdout.write(showStatus(st) + '\n');
    if (st.state === 'failed') process.exitCode = 1;
  });

  api(program.command('result').argument('<job>').description("a finished job's result"))
    .option('--out <file>', 'write the full output (primes submitted with --list; life grid)')
    .action(async (id: string, o: Record<string, unknown>) => {
      const c = client(o);
      const r = await c.get<Record<string, unknown>>(`/api/jobs/${encodeURIComponent(id)}/result`);
      if (o['out'] !== undefined) await writeFileFrom(String(o['out']), (out) => c.download(`/api/jobs/${encodeURIComponent(id)}/output`, out));
      if (o['json']) printJson(r);
      else process.stdout.write(formatResult(r) + '\n');
    });

  api(program.command('cancel').argument('<job>').description('cancel a job; every lease returns')).action(async (id: string, o: Record<string, unknown>) => {
    const st = await client(o).post<JobStatus>(`/api/jobs/${encodeURIComponent(id)}/cancel`);
    if (o['json']) printJson(st);
    else process.stdout.write(`job ${st.id} ${st.state}\n`);
  });

  api(program.command('login-url').description('a new one-time dashboard login URL')).action(async (o: Record<string, unknown>) => {
    const t = target(o);
    const { path: p } = await new ApiClient(t).post<{ path: string }>('/api/login-codes');
    const url = t.url + p;
    if (o['json']) printJson({ url });
    else process.stdout.write(url + '\n');
  });

  api(program.command('nodes').description('list worker nodes')).action(async (o: Record<string, unknown>) => {
    const { nodes } = await client(o).get<{ nodes: { name: string; state: string; remote: string; slots: number; busy: number; telemetry: { temp?: number } }[] }>('/api/nodes');
    if (o['json']) printJson({ nodes });
    else
      process.stdout.write(
        nodes.length === 0
          ? 'no nodes\n'
          : nodes.map((n) => `${n.name.padEnd(24)} ${n.state.padEnd(8)} ${n.remote.padEnd(16)} ${n.busy}/${n.slots} busy  ${n.telemetry.temp === undefined ? '-' : n.telemetry.temp.toFixed(1) + ' °C'}`).join('\n') + '\n',
      );
  });

  registerDeployCommands(program);
  return program;
}

/** Runs the CLI; bad input exits 2 with one line naming what was wrong. */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
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
    if (err instanceof ApiError) {
      process.stderr.write(`error: ${err.message}\n`);
      process.exitCode = err.status === 400 ? EXIT_USAGE : 1;
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
