import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The browser code and style sheet, as `npm run build` bundled them (scripts/build-dashboard.mjs:
 * esbuild, from src/dashboard/client/) next to this module's compiled form in dist/dashboard/assets/.
 * Run from source (the unit tests), this module looks in the repository's dist/ instead.
 */
export function bundledAsset(name: 'app.js' | 'app.css'): string {
  const places = [new URL(`./${name}`, import.meta.url), new URL(`../../../dist/dashboard/assets/${name}`, import.meta.url)];
  for (const p of places) if (existsSync(p)) return readFileSync(p, 'utf8');
  throw new Error(`the dashboard's ${name} is not built (looked in ${places.map((p) => fileURLToPath(p)).join(', ')}): run npm run build`);
}
