import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readSync, closeSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { BrambleError } from '../core/index.js';

const run = promisify(execFile);

/**
 * The bundle is what a worker host installs: this bramble package (package.json, bin, dist, docs) with
 * a `node_modules` of its production dependencies, taken from the installation that runs `deploy`, so
 * the host needs no internet and no npm. Its id is a hash of every file, so a deploy that finds the same
 * id on a host copies nothing.
 *
 * Native add-ons (better-sqlite3, msgpackr-extract) are those of this machine. A worker loads none of
 * them (SQLite is opened only by a head; msgpackr falls back to JavaScript), so an x64 bundle runs a
 * worker on an arm64 Pi; the manifest lists them so `deploy` can say so.
 */
export interface NativeAddon {
  path: string;
  /** From the ELF header: x64, arm64, arm, ia32, or the machine number. */
  arch: string;
}

export interface BundleManifest {
  name: string;
  version: string;
  id: string;
  /** Where it was built: the platform, architecture and Node ABI its native add-ons are for. */
  platform: string;
  arch: string;
  abi: string;
  node: string;
  natives: NativeAddon[];
  files: number;
  bytes: number;
  packages: number;
}

export interface Bundle {
  file: string;
  manifest: BundleManifest;
  /** Size of the .tgz. */
  size: number;
}

export class BundleError extends BrambleError {
  override name = 'BundleError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('BUNDLE', message, options);
  }
}

/** The root of the running bramble package (holds package.json, bin, dist). */
export function packageRoot(): string {
  return fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');
}

interface PackageJson {
  name?: string;
  version?: string;
  files?: string[];
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

function readPkg(dir: string): PackageJson {
  return JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as PackageJson;
}

/** Node's lookup: DIR/node_modules/NAME, then each parent's. */
function resolvePackage(fromDir: string, name: string): string | null {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    if (path.basename(dir) !== 'node_modules') {
      const cand = path.join(dir, 'node_modules', name);
      if (existsSync(path.join(cand, 'package.json'))) return realpathSync(cand);
    }
    if (path.dirname(dir) === dir) return null;
  }
}

/** The same lookup inside the bundle (relative paths; '' is the bundle root). */
function lookupOrder(outRel: string, name: string): string[] {
  const parts = outRel ? outRel.split('/') : [];
  const out: string[] = [];
  for (let i = parts.length; i >= 0; i--) {
    if (i > 0 && parts[i - 1] === 'node_modules') continue;
    out.push([...parts.slice(0, i), 'node_modules', name].join('/'));
  }
  return out;
}

function depsOf(pkg: PackageJson): { name: string; optional: boolean }[] {
  const out = new Map<string, boolean>();
  for (const n of Object.keys(pkg.dependencies ?? {})) out.set(n, false);
  for (const n of Object.keys(pkg.optionalDependencies ?? {})) out.set(n, true);
  for (const n of Object.keys(pkg.peerDependencies ?? {})) if (!out.has(n)) out.set(n, true); // peers: taken when installed
  return [...out].map(([name, optional]) => ({ name, optional }));
}

/** Production dependency closure, placed so Node's lookup inside the bundle finds the same packages. */
export function dependencyTree(root: string): Map<string, string> {
  const placed = new Map<string, string>(); // bundle path -> real dir
  const queue: { real: string; out: string }[] = [{ real: root, out: '' }];
  while (queue.length > 0) {
    const { real, out } = queue.shift() as { real: string; out: string };
    for (const dep of depsOf(readPkg(real))) {
      const target = resolvePackage(real, dep.name);
      if (!target) {
        if (dep.optional) continue;
        throw new BundleError(`cannot find ${dep.name}, a dependency of ${path.relative(path.dirname(root), real) || 'bramble'}: run \`npm ci --omit=dev\` (or \`npm install\`) where bramble is installed`);
      }
      const order = lookupOrder(out, dep.name);
      const seen = order.find((p) => placed.has(p));
      if (seen !== undefined && placed.get(seen) === target) continue;
      const at = seen === undefined ? (order[order.length - 1] as string) : (order[0] as string);
      if (placed.has(at)) throw new BundleError(`cannot place ${dep.name} in the bundle (conflicting versions at ${at})`);
      placed.set(at, target);
      queue.push({ real: target, out: at });
    }
  }
  return placed;
}

const SKIP_DIRS = new Set(['node_modules', 'obj.target', '.deps', '.bin', '.github', 'test', 'tests', '__tests__', 'example', 'examples', 'benchmark', 'benchmarks', 'bench', 'coverage', '.nyc_output']);
const SKIP_FILES = /(\.d\.[cm]?ts|\.[cm]?ts|\.map|\.md|\.markdown|\.tsbuildinfo|\.gyp[i]?|\.cc|\.cpp|\.c|\.h|\.hpp|\.o|\.a|\.mk)$|^(\.npmignore|\.eslintrc.*|\.prettierrc.*|\.editorconfig|\.travis\.yml|Makefile|tsconfig.*\.json)$/i;

function walk(dir: string, rel: string, out: { src: string; rel: string }[], filter: (rel: string, isDir: boolean) => boolean): void {
  for (const ent of readdirSync(dir, { withFileTypes: true })) {
    const r = rel ? `${rel}/${ent.name}` : ent.name;
    const full = path.join(dir, ent.name);
    let isDir = ent.isDirectory();
    if (ent.isSymbolicLink()) {
      try {
        isDir = statSync(full).isDirectory();
      } catch {
        continue;
      }
    }
    if (!filter(r, isDir)) continue;
    if (isDir) walk(full, r, out, filter);
    else out.push({ src: full, rel: r });
  }
}

/** Files of one dependency worth shipping (no tests, sources, type declarations, build leftovers). */
function packageFiles(real: string): { src: string; rel: string }[] {
  const native = existsSync(path.join(real, 'binding.gyp'));
  const out: { src: string; rel: string }[] = [];
  walk(real, '', out, (rel, isDir) => {
    const base = path.basename(rel);
    if (isDir) {
      if (SKIP_DIRS.has(base)) return false;
      if (native && (rel === 'deps' || rel === 'src')) return false;
      if (native && rel.startsWith('build/') && !/^build\/Release$/.test(rel)) return false;
      return true;
    }
    if (native && rel.startsWith('build/')) return rel.endsWith('.node');
    return base === 'package.json' || !SKIP_FILES.test(base);
  });
  return out;
}

/** Files of bramble itself: package.json and its "files" entries but docs (no source maps). */
function ownFiles(root: string, pkg: PackageJson): { src: string; rel: string }[] {
  const out: { src: string; rel: string }[] = [{ src: path.join(root, 'package.json'), rel: 'package.json' }];
  for (const entry of (pkg.files ?? ['bin', 'dist']).filter((f) => f.replace(/\/$/, '') !== 'docs')) {
    const full = path.join(root, entry);
    if (!existsSync(full)) {
      if (entry === 'dist') throw new BundleError(`${full} is missing: run \`npm run build\` first`);
      continue;
    }
    if (statSync(full).isDirectory()) walk(full, entry, out, (rel, isDir) => isDir || !rel.endsWith('.map'));
    else out.push({ src: full, rel: entry });
  }
  return out;
}

const ELF_MACHINES: Record<number, string> = { 0x03: 'ia32', 0x28: 'arm', 0x3e: 'x64', 0xb7: 'arm64', 0xf3: 'riscv64' };

function elfArch(file: string): string {
  const buf = Buffer.alloc(20);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buf, 0, 20, 0);
  } finally {
    closeSync(fd);
  }
  if (buf.readUInt32BE(0) !== 0x7f454c46) return 'not ELF';
  const m = buf.readUInt16LE(18);
  return ELF_MACHINES[m] ?? `machine ${m}`;
}

export interface BuildBundleOptions {
  /** Where finished bundles are kept (e.g. DATA/deploy). */
  cacheDir: string;
  /** The package to bundle (default: the running one). */
  root?: string;
}

/** Collects, hashes and (unless a bundle with that hash exists) writes the bundle. */
export async function buildBundle(o: BuildBundleOptions): Promise<Bundle> {
  const root = realpathSync(o.root ?? packageRoot());
  const pkg = readPkg(root);
  const files = ownFiles(root, pkg);
  const tree = dependencyTree(root);
  for (const [out, real] of [...tree].sort(([a], [b]) => (a < b ? -1 : 1))) for (const f of packageFiles(real)) files.push({ src: f.src, rel: `${out}/${f.rel}` });
  files.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  const hash = createHash('sha256');
  let bytes = 0;
  const natives: NativeAddon[] = [];
  for (const f of files) {
    const st = statSync(f.src);
    const data = readFileSync(f.src);
    bytes += data.length;
    hash.update(`${f.rel}\0${st.mode & 0o111 ? 'x' : '-'}\0${data.length}\0`).update(data);
    if (f.rel.endsWith('.node')) natives.push({ path: f.rel, arch: elfArch(f.src) });
  }
  const id = hash.digest('hex').slice(0, 16);
  const manifest: BundleManifest = {
    name: pkg.name ?? 'bramble',
    version: pkg.version ?? '0.0.0',
    id,
    platform: process.platform,
    arch: process.arch,
    abi: process.versions.modules,
    node: process.version,
    natives,
    files: files.length + 1,
    bytes,
    packages: tree.size,
  };
  mkdirSync(o.cacheDir, { recursive: true, mode: 0o700 });
  const file = path.join(o.cacheDir, `${manifest.name}-${manifest.version}-${id}.tgz`);
  if (!existsSync(file)) {
    const stage = mkdtempSync(path.join(o.cacheDir, 'stage-'));
    try {
      for (const f of files) {
        const to = path.join(stage, f.rel);
        mkdirSync(path.dirname(to), { recursive: true });
        copyFileSync(f.src, to);
        chmodSync(to, statSync(f.src).mode & 0o111 ? 0o755 : 0o644);
      }
      writeFileSync(path.join(stage, 'bundle.json'), JSON.stringify(manifest, null, 2) + '\n');
      const tmp = `${file}.tmp-${process.pid}`;
      await run('tar', ['-czf', tmp, '-C', stage, '.'], { maxBuffer: 1 << 20 });
      renameSync(tmp, file);
    } catch (err) {
      throw new BundleError(`cannot write the bundle ${file}: ${(err as Error).message}`, { cause: err });
    } finally {
      rmSync(stage, { recursive: true, force: true });
    }
  }
  return { file, manifest, size: statSync(file).size };
}

/** Reads the manifest of a bundle file (`--bundle FILE`, e.g. one built on a Pi). */
export async function readBundle(file: string): Promise<Bundle> {
  if (!existsSync(file)) throw new BundleError(`--bundle: no such file ${file}`);
  let text: string;
  try {
    text = (await run('tar', ['-xzOf', file, './bundle.json'], { maxBuffer: 1 << 20 })).stdout;
  } catch (err) {
    throw new BundleError(`--bundle: ${file} is not a bramble bundle (no bundle.json): ${(err as Error).message.split('\n')[0] ?? ''}`, { cause: err });
  }
  const manifest = JSON.parse(text) as BundleManifest;
  if (!/^[0-9a-f]{16}$/.test(manifest.id)) throw new BundleError(`--bundle: ${file} has no valid id in its bundle.json`);
  return { file, manifest, size: statSync(file).size };
}

/** Whether a host can use the bundle's native add-ons; a sentence for the user when it cannot. */
export function nativeMismatch(m: BundleManifest, host: { platform: string; arch: string; abi: string }): string | null {
  if (m.natives.length === 0) return null;
  const wrong = m.natives.filter((n) => n.arch !== host.arch);
  if (host.platform === m.platform && wrong.length === 0 && host.abi === m.abi) return null;
  return (
    `native add-ons were built for ${m.platform}-${m.arch} (Node ABI ${m.abi}), the host is ${host.platform}-${host.arch} (ABI ${host.abi}): ` +
    `workers do not load them, but \`bramble head\` on that host would fail (run \`bramble deploy --write-bundle FILE\` on a ${host.arch} machine and deploy with --bundle FILE)`
  );
}
