import { existsSync, readFileSync, readdirSync } from 'node:fs';

// the compiled modules (tests that run the TypeScript sources use the build in dist/)
const DIST = import.meta.url.endsWith('.ts') ? new URL('../../dist/', import.meta.url) : new URL('../', import.meta.url);
let current: boolean | undefined;

/**
 * Whether the bundles of `npm run build` (scripts/build-bundles.mjs) are there and hold the tasks that
 * are in dist/tasks/builtin/ now (a task file added there without a build is not in them); never with
 * BRAMBLE_NO_BUNDLE=1. bin/bramble.js and the thread pools ask it.
 */
export function bundlesCurrent(): boolean {
  if (current !== undefined) return current;
  if (process.env['BRAMBLE_NO_BUNDLE'] === '1') return (current = false);
  try {
    if (!existsSync(new URL('bundle/main.js', DIST))) return (current = false);
    const built = JSON.parse(readFileSync(new URL('bundle/builtin.json', DIST), 'utf8')) as string[];
    const now = readdirSync(new URL('tasks/builtin/', DIST)).filter((f) => /^[\w-]+\.js$/.test(f)).sort();
    current = now.length === built.length && now.every((f, i) => f === built[i]);
  } catch {
    current = false;
  }
  return current;
}

/**
 * The module a worker thread runs: `worker/NAME.cjs`, the thread as one CommonJS file (no ES module
 * loader to start in each thread: ~40 ms of CPU), where it is built and current; else `worker/NAME.js`.
 */
export function threadUrl(name: string): URL {
  const cjs = new URL(`worker/${name}.cjs`, DIST);
  return bundlesCurrent() && existsSync(cjs) ? cjs : new URL(`worker/${name}.js`, DIST);
}
