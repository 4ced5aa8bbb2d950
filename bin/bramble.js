#!/usr/bin/env node
// `bramble mpirun` and `bramble agent` start through a lean entry: mpirun calls the agent once per node
const lean = process.argv[2] === 'mpirun' || process.argv[2] === 'agent';
const { main } = lean ? { main: (await import('../dist/cli/mpi-main.js')).mpiMain } : await import('../dist/cli/main.js');
main(process.argv).catch((err) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
});
