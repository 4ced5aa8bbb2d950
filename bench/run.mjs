#!/usr/bin/env node
// `npm run bench`: every benchmark, each against a yardstick measured in the same run.
// BENCH=primes,coordinator to pick; RUNS=N for the number of interleaved runs (median reported).
const all = ['primes', 'collatz', 'life', 'coordinator'];
const pick = (process.env.BENCH ?? all.join(',')).split(',');
const results = [];
for (const name of all.filter((n) => pick.includes(n))) {
  console.log(`# ${name}`);
  const mod = await import(`./${name}.mjs`);
  const rows = await mod.run({ log: (s) => console.log(s) });
  for (const r of rows) {
    results.push(r);
    const f = (v) => (typeof v === 'number' ? (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(3)) : String(v));
    console.log(`${r.name}: ours ${f(r.ours)}, yardstick ${f(r.yardstick)}, ratio ${f(r.ratio)}${r.unit ? `  (${r.unit})` : ''}${r.p99ms !== undefined ? `, want->assign p50 ${f(r.p50ms)} ms p99 ${f(r.p99ms)} ms` : ''}`);
  }
}
process.exit(0);
