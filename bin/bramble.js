#!/usr/bin/env node
import { existsSync, readFileSync, readdirSync } from 'node:fs';

/**
 * The CLI as bundled by `npm run build` (scripts/build-bundles.mjs: a few files to load instead of
 * ~100) when it holds the tasks now in dist/tasks/builtin/, else the compiled modules (a task file
 * added there without a build); BRAMBLE_NO_BUNDLE=1 takes those too (stack traces name their files).
 */
function bundled() {
  if (process.env.BRAMBLE_NO_BUNDLE === '1' || !existsSync(new URL('../dist/bundle/main.js', import.meta.url))) return false;
  try {
    const built = JSON.parse(readFileSync(new URL('../dist/bundle/builtin.json', import.meta.url), 'utf8'));
    const now = readdirSync(new URL('../dist/tasks/builtin/', import.meta.url)).filter((f) => /^[\w-]+\.js$/.test(f)).sort();
    return now.length === built.length && now.every((f, i) => f === built[i]);
  } catch {
    return false;
  }
}

const { main } = await import(bundled() ? '../dist/bundle/main.js' : '../dist/cli/main.js');
main(process.argv).catch((err) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
});
