import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The dependency rule of docs/architecture.md, checked on every import of src/ (tests excepted):
 * layers import only layers above them in this list; apps never import each other (they share
 * through the layers and the `ports` types), except the CLI, which is the program's entry and
 * starts the other apps' mains.
 */
const ALLOWED: Record<string, string[]> = {
  core: [],
  protocol: ['core'],
  kernels: ['core'],
  tasks: ['core', 'kernels'],
  storage: ['core'],
  trust: ['core'],
  net: ['core', 'protocol'],
  ports: ['core', 'protocol'],
  head: ['core', 'protocol', 'kernels', 'tasks', 'storage', 'trust', 'net', 'ports'],
  worker: ['core', 'protocol', 'kernels', 'tasks', 'trust', 'net'],
  dashboard: ['core', 'protocol', 'kernels', 'tasks', 'ports'],
  compat: ['core', 'protocol', 'kernels', 'tasks', 'net', 'ports'],
  deploy: ['core', 'trust'],
  mpi: ['core', 'protocol', 'net', 'trust'],
  // the package entry (src/index.ts): the public API for task authors, and nothing that loads the registry
  'index.ts': ['tasks'],
  cli: ['core', 'protocol', 'kernels', 'tasks', 'storage', 'trust', 'net', 'ports', 'head', 'worker', 'dashboard', 'deploy', 'compat', 'mpi'],
};

const APPS = ['head', 'worker', 'dashboard', 'compat', 'deploy', 'mpi', 'cli'];

/** Why `layer` may not import `other`, or null when it may. */
function forbidden(layer: string, other: string): string | null {
  if (layer === other) return null;
  if (APPS.includes(layer) && APPS.includes(other) && layer !== 'cli') return `app ${layer} imports app ${other}`;
  if (!(ALLOWED[layer] ?? []).includes(other)) return `${layer} imports ${other}`;
  return null;
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') && !p.endsWith('.test.ts') && !p.endsWith('.contract.ts') ? [p] : [];
  });
}

describe('layers', () => {
  const src = path.resolve('src');
  it('every folder of src is a known layer', () => {
    for (const d of readdirSync(src)) if (statSync(path.join(src, d)).isDirectory()) expect(Object.keys(ALLOWED)).toContain(d);
  });

  it('rejects an app importing another app (only the CLI starts the apps)', () => {
    expect(forbidden('dashboard', 'head')).toBe('app dashboard imports app head');
    expect(forbidden('compat', 'head')).toBe('app compat imports app head');
    expect(forbidden('head', 'dashboard')).toBe('app head imports app dashboard');
    expect(forbidden('cli', 'head')).toBeNull();
    expect(forbidden('dashboard', 'ports')).toBeNull();
    for (const app of APPS) for (const lower of Object.keys(ALLOWED).filter((l) => !APPS.includes(l))) expect(ALLOWED[lower]).not.toContain(app);
  });

  it('imports go one way only, and across folders only through index.ts', () => {
    const problems: string[] = [];
    for (const file of files(src)) {
      const layer = path.relative(src, file).split(path.sep)[0] as string;
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/(?:from\s+|import\(\s*)'(\.[^']+)'/g)) {
        const target = path.resolve(path.dirname(file), m[1] as string);
        const rel = path.relative(src, target);
        const other = rel.split(path.sep)[0] as string;
        if (other === layer) continue;
        const why = forbidden(layer, other);
        if (why) problems.push(`${path.relative(src, file)}: ${why} (${m[1]})`);
        else if (!/index\.js$/.test(rel) && other !== layer && !(layer === 'cli' && /main\.js$/.test(rel)) && !(layer === 'index.ts' && /^tasks\/(define-task|summary)\.js$/.test(rel))) problems.push(`${path.relative(src, file)} reaches into ${rel} instead of ${other}/index.ts`);
      }
    }
    expect(problems).toEqual([]);
  });
});
