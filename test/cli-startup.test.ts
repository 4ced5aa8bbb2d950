import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { Help } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { COMMANDS, buildProgram } from '../src/cli/main.js';
import { BIN, cleanup, run, tmpDir } from './helpers/procs.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach(cleanup));

// a module hook that names every package file the process loads
const HOOK = `data:text/javascript,${encodeURIComponent(`import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent('export async function load(u, c, n) { if (u.includes("/node_modules/")) process.stderr.write("LOADED " + u + "\\\\n"); return n(u, c); }'));`)}`;

function packagesLoaded(args: string[]): string[] {
  const r = spawnSync(process.execPath, ['--import', HOOK, BIN, ...args], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/Usage: bramble/);
  return [...new Set([...r.stderr.matchAll(/LOADED .*\/node_modules\/((?:@[^/]+\/)?[^/]+)\//g)].map((m) => m[1] as string))].sort();
}

describe('a CLI that starts in a blink', () => {
  it('--help, run --help and submit --help load commander and no other package (no zod, fastify, pino, x509)', () => {
    expect(packagesLoaded(['--help'])).toEqual(['commander']);
    expect(packagesLoaded(['run', '--help'])).toEqual(['commander']);
    expect(packagesLoaded(['help', 'submit'])).toEqual(['commander']);
    // the hook does see packages: head --help needs zod (the settings schema)
    expect(packagesLoaded(['head', '--help'])).toContain('zod');
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
