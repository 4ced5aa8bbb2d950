// Bundles the dashboard's browser code (src/dashboard/client/) into the files the head serves:
// dist/dashboard/assets/app.js and app.css. Run by `npm run build` after tsc; esbuild only strips
// types and bundles (the browser code is type-checked by `tsc -p src/dashboard/client`).
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const common = {
  absWorkingDir: root,
  bundle: true,
  charset: 'utf8',
  legalComments: 'none',
  logLevel: 'warning',
  minify: false,
  outdir: 'dist/dashboard/assets',
};
await build({ ...common, entryPoints: { app: 'src/dashboard/client/main.ts' }, format: 'iife', platform: 'browser', target: ['es2022'] });
await build({ ...common, entryPoints: { app: 'src/dashboard/client/app.css' }, loader: { '.css': 'css' } });
