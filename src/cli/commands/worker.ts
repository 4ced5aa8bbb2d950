import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { Option } from 'commander';
import { InputError, splitHostPort } from '../../core/index.js';
import { acquireInstanceLock } from '../../deploy/index.js';
import { FILES, isInitialised, loadCluster, parseJoinToken } from '../../trust/index.js';
import { startWorkerProcess } from '../../worker/main.js';
import { WorkerConfig, resolveConfig } from '../config.js';
import { makeLogger } from '../logger.js';
import { dataDirOf } from '../shared.js';
import { VERSION } from '../version.js';

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


/** `bramble worker`. */
export function register(program: Command): void {
  // ---- worker ----
  program
    .command('worker')
    .description('run a worker: computes chunks for a head')
    .option('--head <host:port>', 'the head worker port, e.g. pi-head:7070; with several head candidates (HA) all of them: a:7070,b:7070,c:7070')
    .option('--join <token>', 'join token printed by `bramble init` / `bramble token`')
    .option('--data <dir>', "read the join token from a head's data dir on this machine")
    .option('--slots <n>', 'chunks computed at once (default: one per core)')
    .option('--name <name>', 'name shown on the dashboard (default: hostname)')
    .option('--instance <n>', 'instance number when several run on one machine (default 0)')
    .option('--prefetch <n>', 'chunks held beyond the slots (default 1; at least 64 per slot while chunks take under 2 ms)')
    .option('--config <file>', 'config file (JSON; default: the data dir config.json, section "worker")')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace, silent')
    .option('--allow-code', 'run task modules (JS/TS) the head admin submits, in a sandboxed child process (docs/security.md)')
    .option('--allow-exec', 'run commands the head admin submits (exec tasks, bramble mpirun, bramble agent): any program, as this user; only on machines you own')
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
      const heads = cfg.head.split(',').map((h) => splitHostPort(h.trim(), '--head'));
      const { host, port } = heads[0] as { host: string; port: number };
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
        ...{ host, port, heads, caHash, secret, slots: cfg.slots, name: cfg.name, instance: cfg.instance, prefetch: cfg.prefetch, logger, version: VERSION, node },
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
}
