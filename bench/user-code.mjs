// Per-chunk overhead of users' code (issue 12): a trivial task module against the built-in noop, in
// the same run, through the real CLI (`bramble run`: a head, TLS, local slots), median of RUNS runs.
// Then where the time goes: the sandbox's IPC round trip alone, and a slot thread's, per chunk.
//   BENCH=user-code npm run bench      (CHUNKS=N, RUNS=N)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN, median } from './lib.mjs';


const TRIVIAL = `import { defineTask } from 'bramble';
export default defineTask({
  name: 'trivial', description: 'does nothing per chunk', params: {},
  run: () => ({ summary: {}, output: null }),
  checkSummary: () => ({}),
  fold() { let n = 0; return { add: () => void n++, result: () => ({ chunks: String(n) }) }; },
});
`;

function bramble(args) {
  const t0 = performance.now();
  const out = execFileSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, BRAMBLE_DATA: os.tmpdir() } });
  const wall = (performance.now() - t0) / 1000;
  return { wall, seconds: JSON.parse(out).seconds };
}

export async function run({ log }) {
  const chunks = Number(process.env.CHUNKS ?? 2000);
  const runs = Number(process.env.RUNS ?? 3);
  const slots = 2;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bramble-bench-usercode-'));
  const file = path.join(dir, 'trivial.mjs');
  writeFileSync(file, TRIVIAL);
  const noop = [];
  const mod = [];
  try {
    for (let i = 0; i < runs; i++) {
      // interleaved, so both see the same machine
      noop.push(bramble(['run', 'noop', '--chunks', String(chunks), '--workers', String(slots), '--json']).seconds);
      mod.push(bramble(['run', file, '--start', '0', '--end', String(chunks - 1), '--chunk', '1', '--workers', String(slots), '--json']).seconds);
    }
    const n = median(noop);
    const m = median(mod);
    log(`noop: ${chunks} chunks in ${n.toFixed(3)} s (${((n / chunks) * 1e6).toFixed(0)} us/chunk); trivial module: ${m.toFixed(3)} s (${((m / chunks) * 1e6).toFixed(0)} us/chunk) [${slots} slots, median of ${runs}]`);

    // where the time goes: one chunk's round trip to a sandbox child vs to a slot thread, alone
    const { ProcessSandbox, bundleTaskModule } = await import('../dist/tasks/index.js');
    const { SlotPool } = await import('../dist/worker/slot-pool.js');
    const bundle = path.join(dir, 'trivial.bundle.mjs');
    writeFileSync(bundle, await bundleTaskModule(file));
    const sb = new ProcessSandbox({ dir: path.join(dir, 'sb'), cpuSeconds: 60, memoryMb: 128 });
    const ac = new AbortController();
    const n1 = 2000;
    await sb.run(bundle, {}, 0n, 0n, ac.signal); // start the child, import the bundle
    let t0 = performance.now();
    for (let i = 0; i < n1; i++) await sb.run(bundle, {}, 0n, 0n, ac.signal);
    const sandboxUs = ((performance.now() - t0) / n1) * 1000;
    t0 = performance.now();
    const fresh = new ProcessSandbox({ dir: path.join(dir, 'sb2'), cpuSeconds: 60, memoryMb: 128 });
    await fresh.run(bundle, {}, 0n, 0n, ac.signal);
    const startMs = performance.now() - t0;
    fresh.close();
    sb.close();
    const pool = new SlotPool(1);
    await pool.run([{ task: 'noop', params: { chunks: 1 }, start: '0', end: '0' }]).done;
    t0 = performance.now();
    for (let i = 0; i < n1; i++) await pool.run([{ task: 'noop', params: { chunks: 1 }, start: '0', end: '0' }]).done;
    const threadUs = ((performance.now() - t0) / n1) * 1000;
    await pool.close();
    log(`one chunk, round trip alone: sandbox child (IPC, advanced serialization) ${sandboxUs.toFixed(0)} us, slot thread ${threadUs.toFixed(0)} us; a new sandbox child (permission model, import of the bundle) ${startMs.toFixed(0)} ms, once per slot and bundle`);
    return [
      { name: `trivial task module vs noop, per chunk (${chunks} chunks, ${slots} slots, --chunk 1)`, ours: (m / chunks) * 1e6, yardstick: (n / chunks) * 1e6, unit: 'us per chunk; yardstick: built-in noop, same run', ratio: m / n },
      { name: 'chunk round trip: sandbox child vs slot thread', ours: sandboxUs, yardstick: threadUs, unit: 'us per chunk, one at a time', ratio: sandboxUs / threadUs },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
