// Bundles bramble's own compiled modules (dist/, from tsc) so that a process or thread loads a few
// files instead of ~100. Run by `npm run build` after tsc; why and what it measured: docs/performance.md.
// - dist/worker/slot-thread.cjs, dist/worker/life-part-thread.cjs: each thread as one CommonJS file.
//   A thread whose entry is an ES module starts Node's ES module loader and links each module itself
//   (~40 ms of CPU per slot thread of every run and worker); these load with the loader it already has.
//   The pools (src/worker/slot-pool.ts, life-parts.ts) take the .cjs file when it is there.
// - dist/bundle/: the CLI (dist/cli/main.js) as ES modules split by command, the packages left to
//   node_modules. bin/bramble.js takes it when it is there, else dist/cli/main.js.
// What differs from the compiled modules, done here and checked by test/bundles.test.ts:
// - the task registry finds its tasks by reading dist/tasks/builtin/ at load: here the folder is read
//   at build time and its files imported statically (a bundle holds one copy of each module);
//   dist/bundle/builtin.json lists them: where the folder holds other files (a task added to dist/
//   without a build), bin/bramble.js and the pools take the compiled modules instead;
// - import.meta.url is each original module's own URL, so relative lookups (threads, package.json,
//   dashboard assets) find what they did.
import { Buffer } from 'node:buffer';
import { build } from 'esbuild';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = path.join(root, 'dist');
const REGISTRY = path.join(dist, 'tasks', 'registry.js');

const BUILTIN = (await readdir(path.join(dist, 'tasks', 'builtin'))).filter((f) => /^[\w-]+\.js$/.test(f)).sort();

async function registryWithStaticImports(src) {
  const files = BUILTIN;
  const loop = /for \(const file of readdirSync\(builtinDir\)\.sort\(\)\) \{\n([\s\S]*?)\n\}\n/;
  const dynamicImport = /const mod = \(await import\([^;]*;\n/;
  const m = loop.exec(src);
  if (!m || !dynamicImport.test(m[1])) throw new Error('build-bundles: the builtin loop of dist/tasks/registry.js changed; update scripts/build-bundles.mjs');
  const imports = files.map((f, i) => `import * as builtin${i} from './builtin/${f}';\n`).join('');
  const list = files.map((f, i) => `[${JSON.stringify(f)}, builtin${i}]`).join(', ');
  return imports + src.replace(loop, () => `for (const [file, mod] of [${list}]) {\n${m[1].replace(dynamicImport, '')}\n}\n`);
}

/** `base`: the folder the bundle's files are in; `cjs`: CommonJS output (else ES modules). */
const rewrite = (base, cjs) => ({
  name: 'bramble-rewrite',
  setup(b) {
    b.onLoad({ filter: /\/dist\/.*\.js$/ }, async (args) => {
      let src = await readFile(args.path, 'utf8');
      if (args.path === REGISTRY) src = await registryWithStaticImports(src);
      if (src.includes('import.meta.url')) {
        const rel = JSON.stringify(path.relative(base, args.path));
        const url = cjs ? `require('node:url').pathToFileURL(require('node:path').join(__dirname, ${rel})).href` : `new URL(${rel}, import.meta.url).href`;
        // not inside a string literal (the banner of users' task bundles names import.meta.url)
        src = src.replace(/"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|import\.meta\.url/g, (s) => (s === 'import.meta.url' ? url : s));
      }
      return { contents: src, loader: 'js' };
    });
  },
});

// the kernels' WebAssembly, assembled once here instead of in every thread at its first chunk
// (src/kernels/primes/wasm.ts: sieveBytes), and the primes kernel's first table of sieving primes
// (src/kernels/primes/engine.ts: initCache)
const { assembleSieveBytes } = await import(new URL('../dist/kernels/primes/wasm.js', import.meta.url).href);
const { initialCacheBits } = await import(new URL('../dist/kernels/primes/engine.js', import.meta.url).href);
const base64 = (bytes) => JSON.stringify(Buffer.from(bytes).toString('base64'));
const define = { BRAMBLE_PRIMES_WASM: base64(assembleSieveBytes()), BRAMBLE_PRIMES_CACHE: base64(initialCacheBits()) };

const common = { bundle: true, platform: 'node', target: 'node20', logLevel: 'warning', legalComments: 'none', define };

for (const entry of ['worker/slot-thread', 'worker/life-part-thread']) {
  const outfile = path.join(dist, `${entry}.cjs`);
  // esbuild: loaded only by the head's process, to bundle users' task modules; never in a thread
  await build({ ...common, entryPoints: [path.join(dist, `${entry}.js`)], outfile, format: 'cjs', external: ['esbuild'], plugins: [rewrite(path.dirname(outfile), true)] });
}

const outdir = path.join(dist, 'bundle');
await rm(outdir, { recursive: true, force: true });
await build({
  ...common,
  entryPoints: { main: path.join(dist, 'cli', 'main.js') },
  outdir,
  format: 'esm',
  splitting: true,
  chunkNames: 'chunk-[hash]',
  packages: 'external',
  plugins: [rewrite(outdir, false)],
});
await writeFile(path.join(outdir, 'builtin.json'), JSON.stringify(BUILTIN) + '\n');
