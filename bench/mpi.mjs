#!/usr/bin/env node
// Launch overhead of `bramble mpirun`: seed 001's prime count over [1, 1e7] on 2 ranks (bench/mpi_prime_sieve.py)
// through bramble (a head here, one worker with --allow-exec in a network namespace of this machine, the
// ranks started there by Open MPI through `bramble agent`) against plain `mpirun -n 2` on this machine,
// interleaved, median of RUNS runs (default 5). Needs root (the namespace), openmpi-bin, python3-mpi4py.
//   npm run build && node bench/mpi.mjs
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BIN, median, ROOT } from './lib.mjs';

const SCRIPT = path.join(ROOT, 'bench/mpi_prime_sieve.py');
const NS = 'bmpib0';
const BR = 'bmpibbr';
const HEAD_IP = '10.215.0.1';
const ENV = { ...process.env, OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1' };
const EXPECT = '664579';

const sh = (cmd) => spawnSync('/bin/sh', ['-c', cmd], { stdio: 'ignore' }).status === 0;
const ip = (...args) => {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
};
function down() {
  spawnSync('ip', ['netns', 'del', NS], { stdio: 'ignore' });
  spawnSync('ip', ['link', 'del', 'bmpibh0'], { stdio: 'ignore' });
  spawnSync('ip', ['link', 'del', BR], { stdio: 'ignore' });
}
function up() {
  down();
  ip('link', 'add', BR, 'type', 'bridge');
  ip('addr', 'add', `${HEAD_IP}/24`, 'dev', BR);
  ip('link', 'set', BR, 'up');
  ip('netns', 'add', NS);
  ip('link', 'add', 'bmpibh0', 'type', 'veth', 'peer', 'name', 'bmpibn0');
  ip('link', 'set', 'bmpibn0', 'netns', NS);
  ip('link', 'set', 'bmpibh0', 'master', BR);
  ip('link', 'set', 'bmpibh0', 'up');
  ip('netns', 'exec', NS, 'ip', 'addr', 'add', '10.215.0.2/24', 'dev', 'bmpibn0');
  ip('netns', 'exec', NS, 'ip', 'link', 'set', 'bmpibn0', 'up');
  ip('netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up');
}

function timed(cmd, args, env, cwd) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env, cwd, encoding: 'utf8' });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0 || r.stdout.trim() !== EXPECT) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}, out ${JSON.stringify(r.stdout)}, err ${r.stderr.slice(-600)}`);
  return s;
}

export async function run({ log = console.log } = {}) {
  const missing = [['root', 'test "$(id -u)" = 0'], ['openmpi-bin', 'command -v mpirun.openmpi'], ['python3-mpi4py', '/usr/bin/python3 -c "import mpi4py"'], ['iproute2', 'command -v ip']].filter(([, c]) => !sh(c)).map(([w]) => w);
  if (missing.length) {
    log(`mpi: skipped, needs ${missing.join(', ')}`);
    return [];
  }
  const runs = Number(process.env.RUNS ?? 5);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bramble-bench-mpi-'));
  const procs = [];
  try {
    up();
    const head = spawn(process.execPath, [BIN, 'head', '--data', dir, '--bind', HEAD_IP, '--port', '0', '--http-port', '0', '--log-level', 'warn'], { env: ENV, stdio: 'ignore' });
    procs.push(head);
    for (let i = 0; i < 300 && !existsSync(path.join(dir, 'head.json')); i++) await new Promise((r) => setTimeout(r, 100));
    const { workerPort } = JSON.parse(readFileSync(path.join(dir, 'head.json'), 'utf8'));
    const worker = spawn('ip', ['netns', 'exec', NS, process.execPath, BIN, 'worker', '--head', `${HEAD_IP}:${workerPort}`, '--data', dir, '--name', 'bench', '--slots', '2', '--allow-exec', '--log-level', 'warn'], { env: ENV, stdio: 'ignore' });
    procs.push(worker);
    const env = { ...ENV, BRAMBLE_DATA: dir };
    // wait for the worker: a first launch through bramble (not counted) doubles as the warm-up
    let warm = false;
    for (let i = 0; i < 100 && !warm; i++) {
      try {
        timed(process.execPath, [BIN, 'mpirun', '-n', '2', '--', '/usr/bin/python3', 'mpi_prime_sieve.py', '1e7'], env, path.dirname(SCRIPT));
        warm = true;
      } catch {
        await new Promise((r) => setTimeout(r, 300));
      }
    }
    if (!warm) throw new Error('bramble mpirun never ran (is the worker up?)');
    const plain = [];
    const ours = [];
    for (let i = 0; i < runs; i++) {
      plain.push(timed('mpirun.openmpi', ['-n', '2', '--bind-to', 'none', '/usr/bin/python3', SCRIPT, '1e7'], ENV));
      ours.push(timed(process.execPath, [BIN, 'mpirun', '-n', '2', '--', '/usr/bin/python3', 'mpi_prime_sieve.py', '1e7'], env, path.dirname(SCRIPT)));
      log(`  run ${i + 1}: plain mpirun ${plain[i].toFixed(3)} s, bramble mpirun ${ours[i].toFixed(3)} s`);
    }
    const overhead = median(ours.map((o, i) => o - plain[i]));
    // for scale: what one bare Node start costs on this machine now (bramble adds two: its CLI and the agent)
    const bare = [];
    for (let i = 0; i < runs; i++) {
      const t0 = process.hrtime.bigint();
      spawnSync(process.execPath, ['-e', '0']);
      bare.push(Number(process.hrtime.bigint() - t0) / 1e9);
    }
    log(`mpi: a bare \`node -e 0\` takes ${median(bare).toFixed(3)} s here now (median of ${runs})`);
    log(`mpi: launch overhead of bramble mpirun (median of paired differences): ${overhead.toFixed(3)} s; load average ${os.loadavg()[0].toFixed(1)} on ${os.availableParallelism()} cores`);
    return [
      { name: 'mpi prime count [1, 1e7], 2 ranks: bramble mpirun vs mpirun -n 2 (wall s)', ours: median(ours), yardstick: median(plain), unit: 'seconds, median', ratio: median(ours) / median(plain) },
      { name: 'mpi launch overhead, paired median (s)', ours: overhead, yardstick: 0.5, unit: 'seconds; yardstick: the 0.5 s target', ratio: overhead / 0.5 },
    ];
  } finally {
    for (const p of procs.reverse()) p.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    down();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rows = await run();
  for (const r of rows) console.log(`${r.name}: ours ${r.ours.toFixed(3)}, yardstick ${r.yardstick.toFixed(3)}, ratio ${r.ratio.toFixed(2)}`);
  process.exit(0);
}
