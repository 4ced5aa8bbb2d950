// Bundles the modules that run in worker threads into one CommonJS file each, beside the compiled ES
// modules: dist/worker/slot-thread.cjs and dist/worker/life-part-thread.cjs. Run by `npm run build`
// after tsc. Why: a thread whose entry is an ES module starts Node's ES module loader and resolves,
// reads and links each module on its own (every slot thread of every run and worker: ~40 ms of CPU
// each, docs/performance.md); a CommonJS file loads with the loader every thread already has.
// The pools (src/worker/slot-pool.ts, life-parts.ts) take the .cjs file when it is there, else the
// ES module. Two things differ from the ES modules, both done here and checked by test/threads-bundle:
// - the task registry finds its tasks by reading dist/tasks/builtin/ at load (top-level await, which
//   CommonJS has not): here the folder is read at build time and its files imported statically;
// - import.meta.url is each original module's own URL, so relative lookups find what they did.
import { build } from 'esbuild';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = path.join(root, 'dist');
const ENTRIES = ['worker/slot-thread', 'worker/life-part-thread'];
const REGISTRY = path.join(dist, 'tasks', 'registry.js');

async function registryWithStaticImports(src) {
  const files = (await readdir(path.join(dist, 'tasks', 'builtin'))).filter((f) => /^[\w-]+\.js$/.test(f)).sort();
  const loop = /for \(const file of readdirSync\(builtinDir\)\.sort\(\)\) \{\n([\s\S]*?)\n\}\n/;
  const dynamicImport = /const mod = \(await import\([^;]*;\n/;
  const m = loop.exec(src);
  if (!m || !dynamicImport.test(m[1])) throw new Error('build-threads: the builtin loop of dist/tasks/registry.js changed; update scripts/build-threads.mjs');
  const imports = files.map((f, i) => `import * as builtin${i} from './builtin/${f}';\n`).join('');
  const list = files.map((f, i) => `[${JSON.stringify(f)}, builtin${i}]`).join(', ');
  return imports + src.replace(loop, () => `for (const [file, mod] of [${list}]) {\n${m[1].replace(dynamicImport, '')}\n}\n`);
}

const plugin = (outfile) => ({
  name: 'bramble-thread',
  setup(b) {
    b.onLoad({ filter: /\/dist\/.*\.js$/ }, async (args) => {
      let src = await readFile(args.path, 'utf8');
      if (args.path === REGISTRY) src = await registryWithStaticImports(src);
      if (src.includes('import.meta.url')) {
        const rel = path.relative(path.dirname(outfile), args.path);
        const url = `require('node:url').pathToFileURL(require('node:path').join(__dirname, ${JSON.stringify(rel)})).href`;
        // not inside a string literal (the banner of users' task bundles names import.meta.url)
        src = src.replace(/"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|import\.meta\.url/g, (s) => (s === 'import.meta.url' ? url : s));
      }
      return { contents: src, loader: 'js' };
    });
  },
});

for (const entry of ENTRIES) {
  const outfile = path.join(dist, `${entry}.cjs`);
  await build({
    entryPoints: [path.join(dist, `${entry}.js`)],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    logLevel: 'warning',
    legalComments: 'none',
    // loaded by the head's process only, to bundle users' task modules; never in a thread
    external: ['esbuild'],
    plugins: [plugin(outfile)],
  });
}
