// `npm run screenshots` (after `npm run build`): bundles scripts/screenshots.ts with esbuild into
// dist/scripts/ (two levels below the root, so the helpers' paths to bin/ still hold) and runs it.
// Chromium is Debian's /usr/bin/chromium (BRAMBLE_CHROMIUM overrides); nothing is downloaded.
import { build } from 'esbuild';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outfile = `${root}dist/scripts/screenshots.mjs`;
await build({
  absWorkingDir: root,
  entryPoints: ['scripts/screenshots.ts'],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: ['node20'],
  packages: 'external',
  logLevel: 'warning',
});
await import(pathToFileURL(outfile).href);
