import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { Help } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { COMMANDS, buildProgram } from '../src/cli/main.js';
import { BIN, cleanup, run, tmpDir } from './helpers/procs.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach(cleanup));

// a module hook that names every package file the process loads: ES modules as they load, and at
// exit the CommonJS module cache (zod and msgpackr are require()d on first use: core/lazy-packages.ts)
const HOOK = `data:text/javascript,${encodeURIComponent(`import Module, { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent('export async function load(u, c, n) { if (u.includes("/node_modules/")) process.stderr.write("LOADED " + u + "\\\\n"); return n(u, c); }'));
const cache = Module._cache;
process.on('exit', () => { for (const f of Object.keys(cache)) if (f.includes('/node_modules/')) process.stderr.write('LOADED ' + f + '\\n'); });`)}`;

function packagesOf(args: string[]): { stdout: string; packages: string[] } {
  const r = spawnSync(process.execPath, ['--import', HOOK, BIN, ...args], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return { stdout: r.stdout, packages: [...new Set([...r.stderr.matchAll(/LOADED .*\/node_modules\/((?:@[^/]+\/)?[^/]+)\//g)].map((m) => m[1] as string))].sort() };
}

function packagesLoaded(args: string[]): string[] {
  const r = packagesOf(args);
  expect(r.stdout).toMatch(/Usage: bramble/);
  return r.packages;
}

describe('a CLI that starts in a blink', () => {
  it('--help, run --help and submit --help load commander and no other package (no zod, fastify, pino, x509)', () => {
    expect(packagesLoaded(['--help'])).toEqual(['commander']);
    expect(packagesLoaded(['run', '--help'])).toEqual(['commander']);
    expect(packagesLoaded(['help', 'submit'])).toEqual(['commander']);
    // the hook does see packages: head --help needs zod (the settings schema)
    expect(packagesLoaded(['head', '--help'])).toContain('zod');
  });

  it('bramble run loads no zod, msgpackr, pino or storage backend unless it needs them (issue 16)', () => {
    const r = packagesOf(['run', 'primes', '--start', '1', '--end', '1e6']);
    expect(r.stdout).toMatch(/primes in \[1, 1000000\]: 78498/);
    expect(r.packages).toContain('commander'); // the hook sees packages loaded either way
    for (const p of ['zod', 'msgpackr', 'pino', 'better-sqlite3', 'fastify', '@peculiar/x509']) expect(r.packages).not.toContain(p);
    // the same run through the wire's encoding and checks does load them
    const checked = spawnSync(process.execPath, ['--import', HOOK, BIN, 'run', 'noop', '--chunks', '2'], { encoding: 'utf8', env: { ...process.env, BRAMBLE_CHECK_LOCAL_LINK: '1' } });
    expect(checked.stderr).toMatch(/LOADED .*node_modules\/zod\//);
    expect(checked.stderr).toMatch(/LOADED .*node_modules\/msgpackr\//);
    // and a line to log loads pino
    expect(packagesOf(['run', 'noop', '--chunks', '2', '--log-level', 'info']).packages).toContain('pino');
  });

  it("the listing's usage and description of each command are the command's own", async () => {
    const full = await buildProgram([], true);
    const help = new Help();
    const names = full.commands.map((c) => c.name());
    expect(names).toEqual(COMMANDS.map((c) => c.name));
    for (const c of COMMANDS) {
      const cmd = full.commands.find((k) => k.name() === c.name);
      expect(cmd?.description(), c.name).toBe(c.description);
      expect(cmd && help.subcommandTerm(cmd), c.name).toBe(`${c.name}${c.usage ? ' ' + c.usage : ''}`);
    }
  });

  it('bramble run makes its credentials once, in a private cache dir, and makes new ones for a loose dir', async () => {
    const cache = tmpDir('bramble-cli-cache-');
    dirs.push(cache);
    const env = { XDG_CACHE_HOME: cache };
    const creds = path.join(cache, 'bramble', 'run');
    const first = await run(['run', 'noop', '--chunks', '3', '--json'], env);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.out)).toMatchObject({ chunks: '3', state: 'done' });
    expect(statSync(creds).mode & 0o777).toBe(0o700);
    const ca = readFileSync(path.join(creds, 'ca.crt'), 'utf8');
    const second = await run(['run', 'primes', '--start', '1', '--end', '1e6', '--json'], env);
    expect(JSON.parse(second.out)).toMatchObject({ count: '78498' });
    expect(readFileSync(path.join(creds, 'ca.crt'), 'utf8')).toBe(ca);
    chmodSync(creds, 0o755); // others could read the key: not used, replaced
    const third = await run(['run', 'noop', '--chunks', '2', '--json'], env);
    expect(JSON.parse(third.out)).toMatchObject({ chunks: '2', state: 'done' });
    expect(statSync(creds).mode & 0o777).toBe(0o700);
    expect(readFileSync(path.join(creds, 'ca.crt'), 'utf8')).not.toBe(ca);
  });
});
