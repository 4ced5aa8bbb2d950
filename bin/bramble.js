#!/usr/bin/env node
// The CLI as bundled by `npm run build` (scripts/build-bundles.mjs: a few files to load instead of
// ~100) when it holds the tasks now in dist/tasks/builtin/, else the compiled modules (a task file
// added there without a build); BRAMBLE_NO_BUNDLE=1 takes those too (stack traces name their files).
import { bundlesCurrent } from '../dist/worker/thread-url.js';

const { main } = await import(bundlesCurrent() ? '../dist/bundle/main.js' : '../dist/cli/main.js');
main(process.argv).catch((err) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
});
