#!/usr/bin/env node
// `npm run bench`: every benchmark, each against a yardstick measured in the same run.
// BENCH=primes,coordinator (or `npm run bench -- startup coordinator`) to pick; RUNS=N for the number
// of interleaved runs (median reported).
const all = ['startup', 'primes', 'collatz', 'life', 'life-cluster', 'coordinator', 'scaling', 'ha', 'submit', 'mpi', 'hostile', 'user-code'];
const named = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const pick = named.length > 0 ? named : (process.env.BENCH ?? all.join(',')).split(',');
for (const n of pick) if (!all.includes(n)) throw new Error(`unknown benchmark ${n} (known: ${all.join(', ')})`);
const results = [];
for (const name of all.filter((n) => pick.includes(n))) {
  console.log(`# ${name}`);
  const mod = await import(`./${name}.mjs`);
  const rows = await mod.run({ log: (s) => console.log(s) });
  for (const r of rows) {
    results.push(r);
    const f = (v) => (typeof v === 'number' ? (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(3)) : String(v));
    // kernel rows: {kernel, case, ours_s, yardstick, yardstick_s, ratio}; coordinator rows: {name, ours, yardstick, unit, ratio}
    const name = r.name ?? `${r.kernel} ${r.case}`;
    const ours = r.ours_s ?? r.ours;
    const theirs = r.yardstick_s ?? r.yardstick;
    const unit = r.unit ?? (r.ours_s !== undefined ? `seconds; yardstick: ${r.yardstick}` : '');
    console.log(`${name}: ours ${f(ours)}, yardstick ${f(theirs)}, ratio ${f(r.ratio)}${unit ? `  (${unit})` : ''}${r.p99ms !== undefined ? `, want->assign p50 ${f(r.p50ms)} ms p99 ${f(r.p99ms)} ms` : ''}`);
  }
}
process.exit(0);
