import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { BrambleError, InputError } from '../../core/index.js';
import { headSettings, headSettingsShape } from '../../head/index.js';
import { FILES, initCluster, loadCluster, rotateSecret } from '../../trust/index.js';
import { dataDirOf } from '../shared.js';


/** `bramble init`, `bramble token`: the cluster credentials. */
export function register(program: Command): void {
  // ---- init / token ----
  program
    .command('init')
    .description('create a cluster: CA, head certificate, cluster secret, admin token, config')
    .option('--data <dir>', 'data dir (default ~/.bramble or BRAMBLE_DATA)')
    .option('--san <names>', 'extra names/addresses for the head certificate, comma-separated')
    .option('--force', 'replace an existing cluster')
    .option('--etcd <urls>', 'HA: etcd client URLs, comma-separated, written to the config (copy the data dir to every head candidate; docs/ha.md)')
    .action(async (o: { data?: string; san?: string; force?: boolean; etcd?: string }) => {
      const dir = dataDirOf(o);
      const etcd = o.etcd === undefined ? undefined : o.etcd.split(',').map((u) => u.trim()).filter(Boolean);
      if (etcd) {
        const r = headSettingsShape().etcd.safeParse(etcd);
        if (!r.success) throw new InputError('--etcd', `--etcd ${r.error.issues[0]?.message ?? 'is invalid'} (got ${JSON.stringify(o.etcd)})`);
      }
      let cluster: Awaited<ReturnType<typeof initCluster>>;
      try {
        cluster = await initCluster(dir, { force: o.force, sans: o.san ? o.san.split(',').map((s) => s.trim()).filter(Boolean) : [] });
      } catch (err) {
        // an existing cluster is a usage mistake (exit 2), naming the flag
        throw err instanceof BrambleError && err.code === 'CLUSTER_DIR' ? new InputError('--data', err.message) : err;
      }
      const cfg = path.join(dir, FILES.config);
      if (!existsSync(cfg)) {
        const { writeConfigFile } = await import('../../trust/index.js');
        const d = headSettings();
        writeConfigFile(cfg, { head: { port: d.port, httpPort: d.httpPort, bind: d.bind, ...(etcd ? { etcd } : {}) }, worker: {} });
      } else if (etcd) process.stderr.write(`note: ${cfg} exists and was left alone: add "etcd": ${JSON.stringify(etcd)} to its "head" section\n`);
      if (etcd)
        process.stdout.write(
          `HA: copy ${dir} to every head candidate before its first start (same CA, secret, admin token, lease key), e.g.\n` +
            `  rsync -a ${dir}/ pi2:${dir}/\n` +
            `then on each: bramble head --data ${dir} --name NAME   (docs/ha.md)\n\n`,
        );
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
}
