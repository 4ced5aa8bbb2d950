import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { BrambleError, InputError } from '../../core/index.js';
import { findTask, planJob, publicTasks, taskFlags } from '../../tasks/index.js';
import { anyJobInput, follow, printJson, rawArgs, taskArgumentHelp, taskOptions, writeFileFrom } from '../shared.js';
import type { Message } from '../../protocol/index.js';
import type { JobInput } from '../../tasks/index.js';
import type { Worker } from 'node:worker_threads';
import type { SlotPool } from '../../worker/slots-main.js';
import { VERSION } from '../version.js';

/** `bramble run`: a head and local slots in one command. */
export function register(program: Command): void {
  // what a job needs is loaded when one runs: `bramble run --help` loads the task registry only
  taskOptions(
    program
      .command('run')
      .argument('<task>', taskArgumentHelp(publicTasks().map((t) => t.name)))
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
    const { input, module, files } = await anyJobInput(task, words, o, rawArgs(program));
    // Life: its strips are this run's slots, so the job starts when they connect (no wait for more workers)
    const lifeJob = findTask(input.task)?.coordinator === 'life-strips';
    if (lifeJob && input.params?.['parts'] === undefined) input.params = { ...input.params, parts: workers };
    const { startSlots, startLifeThreads } = await import('../../worker/slots-main.js');
    // a Life job's strips run in threads of their own, started while this thread reads and checks the
    // pattern below (they keep nothing alive until a strip takes them); its slots start only if used
    const lifeThreads = lifeJob ? startLifeThreads(Number(input.params?.['parts'] ?? workers) || workers) : [];
    const plan = planJob(input, workers, undefined, { request: false }); // validate before starting anything
    // the slot threads first: their start (a Node bootstrap each, the task registry, the kernels'
    // WebAssembly) runs while this thread loads the head's and the worker's modules
    const pool = startSlots(workers, { lazy: lifeJob });
    const local = await startLocal({ pool, lifeThreads, input, params: plan.params, module, files, logLevel: String(o['logLevel']) }).catch(async (err: unknown) => {
      await pool.close(); // its threads would keep this process alive
      throw err;
    });
    const { hp, formatResult, ProgressBar } = local;
    const cleanup = local.stop;
    const onSignal = (): void => {
      void cleanup().finally(() => process.exit(130));
    };
    process.once('SIGINT', onSignal);
    try {
      const job = hp.head.submit(input);
      const st = await follow(() => hp.head.status(job.id), new ProgressBar(process.stderr, o['json'] ? false : undefined), 100, (now) => hp.head.onChange((what, id) => what === 'jobs' && id === job.id && now()));
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
}

/**
 * The head and the local worker of a run: no worker port, the local slots reach the head over an
 * in-process link (`Head.acceptLocal`): the same handshake and proof of the secret, leases, retries
 * and fold as a worker over TLS, without sockets or encoding, and nothing on the network can join a
 * run. BRAMBLE_CHECK_LOCAL_LINK=1 (tests) sends every message through the wire's encoding and checks.
 */
async function startLocal(o: { pool: SlotPool; lifeThreads: Worker[]; input: JobInput; params: Record<string, unknown>; module: { bytes: Uint8Array } | null; files: { bytes: Uint8Array }[]; logLevel: string }) {
  const { pool, input, params, module, files } = o;
  const [{ makeLogger }, { runCredentials }, { startHeadProcess }, { startWorkerProcess }, { MemoryJournal }, { formatResult }, { ProgressBar }, wire] = await Promise.all([
    import('../logger.js'),
    import('../run-credentials.js'),
    import('../../head/main.js'), // not head/index.js: HA's modules (etcd, the HTTP API) stay unloaded
    import('../../worker/main.js'),
    import('../../core/index.js'), // the storage backends (SQLite, etcd) load only for a run that keeps its output
    import('../format.js'),
    import('../progress.js'),
    import('../../protocol/index.js'),
  ]);
  const logger = makeLogger(o.logLevel, { toStderr: true });
  // the cluster's keys (the secret the worker proves, the lease and code signing keys) are made once
  // per user (run-credentials.ts); the journal in memory, since a run's ledger dies with it, unless it
  // keeps the job's output (--out), which goes to disk: the head never holds a whole job's output
  const { cluster, dispose } = await runCredentials();
  // users' code (issue 12) is stored in a temp dir too, never among the reused credentials
  const keepsOutput = findTask(input.task)?.hasOutput(params) === true;
  const userCode = module !== null || (findTask(input.task)?.needs ?? null) !== null;
  const dir = keepsOutput || userCode ? mkdtempSync(path.join(os.tmpdir(), 'bramble-run-')) : null;
  // (a Life job's output is its last checkpoint in the data dir, never in the journal: memory will do)
  const lifeJob = findTask(input.task)?.coordinator === 'life-strips';
  const journal = dir && keepsOutput && !lifeJob ? new (await import('../../storage/index.js')).SqliteJournal(path.join(dir, 'bramble.db')) : new MemoryJournal();
  const hp = await startHeadProcess({ cluster, dataDir: dir ?? cluster.dir, journal, listen: false, httpPort: null, logger, version: VERSION });
  const check = process.env['BRAMBLE_CHECK_LOCAL_LINK'] === '1' ? (m: Message): Message => wire.decodeMessage(wire.encodeMessage(m).subarray(4)) : null;
  // the user's own code on their own machine: no switch needed (issue 12)
  for (const code of [...(module ? [module.bytes] : []), ...files.map((f) => f.bytes)]) hp.head.code?.put(code);
  const agent = startWorkerProcess({
    ...{ host: 'in-process', port: 0, caHash: null, secret: cluster.secret, slots: pool.size, name: 'local', logger, version: VERSION },
    ...{ pool, lifeThreads: o.lifeThreads, connect: () => Promise.resolve(hp.head.acceptLocal(check)) },
    ...(dir && userCode ? { allowCode: true, allowExec: true, codeDir: path.join(dir, 'code-local') } : {}),
  });
  const stop = async (): Promise<void> => {
    await agent.stop();
    await hp.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    dispose();
  };
  return { hp, formatResult, ProgressBar, stop };
}
