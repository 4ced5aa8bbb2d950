import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../../core/index.js';

/** The largest bundle (or shipped file) the head stores. */
export const MAX_CODE_BYTES = 16 * 1024 * 1024;

/** This package's entry (`import { defineTask } from 'bramble'` in a user's module resolves to it). */
function packageEntry(): string {
  const here = import.meta.url;
  // compiled: dist/tasks/code/bundle.js -> dist/index.js; sources under vitest use the build
  return fileURLToPath(here.endsWith('.ts') ? new URL('../../../dist/index.js', here) : new URL('../../index.js', here));
}

export function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** Refuses code over the limit, naming its size. */
export function checkCodeSize(bytes: number, what: string): void {
  if (bytes > MAX_CODE_BYTES) throw new InputError('task', `${what} is ${bytes} bytes (${mib(bytes)}), over the ${mib(MAX_CODE_BYTES)} limit`);
}

/**
 * Bundles a task module (.mjs, .js, .ts) with its local imports and npm dependencies into one ES
 * module with esbuild. `bramble` resolves to this package, wherever the file is.
 */
export async function bundleTaskModule(file: string): Promise<Uint8Array> {
  const abs = path.resolve(file);
  if (!existsSync(abs)) throw new InputError('task', `no such file ${file} (a task name, or a task module: ./task.mjs, ./task.ts)`);
  const esbuild = await import('esbuild');
  let out: Uint8Array;
  try {
    const r = await esbuild.build({
      entryPoints: [abs],
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      write: false,
      logLevel: 'silent',
      alias: { bramble: packageEntry() },
      // CommonJS dependencies that require() Node's modules work in an ES module bundle
      banner: { js: "import { createRequire as __brambleRequire } from 'node:module'; const require = __brambleRequire(import.meta.url);" },
    });
    out = r.outputFiles[0]?.contents ?? new Uint8Array();
  } catch (err) {
    const e = err as { errors?: { text: string; location?: { file: string; line: number } | null }[]; message: string };
    const first = e.errors?.[0];
    const where = first?.location ? `${first.location.file}:${first.location.line}: ` : '';
    throw new InputError('task', `cannot bundle ${file}: ${where}${first?.text ?? e.message.split('\n')[0]}`);
  }
  checkCodeSize(out.length, `the bundle of ${file}`);
  return out;
}
