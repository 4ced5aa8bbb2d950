import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../../core/index.js';
import { CompatConfig, addCompatFlags, compatWiring } from '../../compat/index.js';
import { startHeadProcess } from '../../head/index.js';
import { FILES, initCluster, isInitialised, loadCluster } from '../../trust/index.js';
import { HeadConfig, addSettingFlags, resolveConfig } from '../config.js';
import { makeLogger } from '../logger.js';
import { dataDirOf } from '../shared.js';
import { VERSION } from '../version.js';

export async function ensureCluster(dir: string, log: { info: (m: string) => void }): Promise<ReturnType<typeof loadCluster>> {
  if (!isInitialised(dir)) {
    log.info(`no cluster in ${dir} yet: creating one (CA, certificates, join token)`);
    return initCluster(dir);
  }
  return loadCluster(dir);
}


/** `bramble head`. */
export function register(program: Command): void {
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
      const { dashboardRoutes } = await import('../../dashboard/index.js');
      if (cfg.etcd) {
        // one of several head candidates (docs/ha.md): the compat listeners belong to a single head
        if (compat.enabled) throw new InputError('--etcd', '--etcd: the --compat-* listeners are not available on HA head candidates yet');
        const { startHaHead } = await import('../../head/index.js');
        const ha = await startHaHead({ cluster, dataDir: dir, ...cfg, etcd: cfg.etcd, logger, version: VERSION, extendHttp: (app, head, auth) => dashboardRoutes(app, head, auth) });
        const joinLine = `bramble worker --head ${os.hostname()}:${cfg.port},OTHER-CANDIDATE:${cfg.port},... ${cfg.insecure ? '--insecure' : `--join ${cluster.joinToken}`}`;
        process.stdout.write(`\nhead candidate ${ha.name}: etcd ${cfg.etcd.join(',')}\nworkers:   ${joinLine}\nstatus:    bramble ha\n\n`);
        const stopHa = (): void => {
          logger.info('head candidate stopping (resigning)');
          void ha.stop().finally(() => process.exit(0));
          setTimeout(() => process.exit(0), 10_000).unref();
        };
        process.once('SIGTERM', stopHa);
        process.once('SIGINT', stopHa);
        return;
      }
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
}
