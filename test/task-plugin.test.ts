import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { api, cleanup, freePort, run, startHead, tmpDir, waitFor, waitJob } from './helpers/procs.js';

/**
 * Tasks are plugins: a built-in task is a file in src/tasks/builtin/ and nothing else names it. To show
 * it with the real program, this copies the build (dist/, bin/, package.json) and adds one file,
 * test/fixtures/sum-squares-task.ts compiled, as dist/tasks/builtin/sum-squares.js: the CLI, head and
 * workers of the copy are otherwise byte for byte the ones the other tests run.
 */
const repo = path.resolve('.');
const dirs: string[] = [];
afterAll(() => dirs.forEach(cleanup));

function copyWithSumSquares(): string {
  const root = tmpDir('bramble-plugin-');
  dirs.push(root);
  for (const p of ['dist', 'bin', 'package.json']) cpSync(path.join(repo, p), path.join(root, p), { recursive: true });
  symlinkSync(path.join(repo, 'node_modules'), path.join(root, 'node_modules'));
  const source = readFileSync(path.join(repo, 'test/fixtures/sum-squares-task.ts'), 'utf8');
  const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
  const placed = js.replaceAll("'../../src/tasks/", "'../");
  expect(placed).not.toBe(js);
  writeFileSync(path.join(root, 'dist/tasks/builtin/sum-squares.js'), placed);
  return root;
}

function runIn(root: string, args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [path.join(root, 'bin/bramble.js'), ...args], { env: { ...process.env, BRAMBLE_DATA: path.join(root, 'home') }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, out, err })));
}

const sumOfSquares = (n: bigint): bigint => (n * (n + 1n) * (2n * n + 1n)) / 6n;

describe('a fifth built-in task is one file in tasks/builtin', () => {
  const root = copyWithSumSquares();

  it('runs end to end through the real CLI, head and worker slots of the copy', async () => {
    const r = await runIn(root, ['run', 'sum-squares', '--start', '1', '--end', '100000', '--workers', '2', '--json']);
    expect(r.err).toBe('');
    expect(JSON.parse(r.out)).toMatchObject({ task: 'sum-squares', state: 'done', sum: sumOfSquares(100000n).toString() });
    const cubes = JSON.parse((await runIn(root, ['run', 'sum-squares', '--start', '1', '--end', '1000', '--power', '3', '--workers', '1', '--json'])).out) as { sum: string };
    expect(cubes.sum).toBe(((1000n * 1001n) / 2n) ** 2n + '');
  });

  it('gets its flags, help, validation and --out from its definition', async () => {
    const help = (await runIn(root, ['run', '--help'])).out;
    expect(help).toMatch(/--power <n>\s+sum-squares: exponent \(default 2\)/);
    expect((await run(['run', '--help'])).out).not.toContain('--power'); // the real build has no such task
    const bad = await runIn(root, ['run', 'sum-squares', '--start', '1', '--end', '9', '--power', '9']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--power must be at most 8 \(got 9\)/);
    expect((await runIn(root, ['run', 'primes', '--start', '1', '--end', '9', '--power', '2'])).err).toMatch(/--power does not apply to task primes/);
    const out = path.join(root, 'squares.txt');
    expect((await runIn(root, ['run', 'sum-squares', '--start', '3', '--end', '2500', '--out', out, '--workers', '2'])).code).toBe(0);
    const lines = readFileSync(out, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(2498);
    expect(lines.slice(0, 3)).toEqual(['9', '16', '25']);
    expect(lines.at(-1)).toBe(String(2500 * 2500));
  });

  it('is listed by GET /api/tasks, submitted over HTTP to a head of the copy and computed by its worker', async () => {
    const dir = path.join(root, 'cluster');
    mkdirSync(dir);
    expect((await runIn(root, ['init', '--data', dir])).code).toBe(0);
    const port = await freePort();
    const httpPort = await freePort();
    const head = spawn(process.execPath, [path.join(root, 'bin/bramble.js'), 'head', '--data', dir, '--bind', '127.0.0.1', '--port', String(port), '--http-port', String(httpPort), '--log-level', 'warn'], { stdio: 'ignore' });
    const worker = spawn(process.execPath, [path.join(root, 'bin/bramble.js'), 'worker', '--head', `127.0.0.1:${port}`, '--data', dir, '--slots', '2', '--instance', '907', '--log-level', 'warn'], { stdio: 'ignore' });
    try {
      await waitFor('head.json', () => existsSync(path.join(dir, 'head.json')));
      const h = { dir, url: (JSON.parse(readFileSync(path.join(dir, 'head.json'), 'utf8')) as { url: string }).url };
      const tasks = await api<{ name: string; range: boolean; output: unknown; params: { name: string; flag: string; type: string; default: unknown; choices: unknown }[] }[]>(h, 'GET', '/api/tasks');
      const ss = tasks.json.find((t) => t.name === 'sum-squares');
      expect(ss).toMatchObject({ range: true, output: { mediaType: 'text/plain', extension: 'txt' } });
      expect(ss?.params).toEqual([
        { name: 'power', flag: '--power', type: 'integer', description: 'exponent', default: 2, choices: null },
        { name: 'squares', flag: '--squares', type: 'boolean', description: 'keep every term (for --out)', default: false, choices: null },
      ]);
      const sub = await api<{ id: string }>(h, 'POST', '/api/jobs', { task: 'sum-squares', start: 1, end: 20_000, chunk: 500, params: { squares: true } });
      expect(sub.status).toBe(201);
      expect(await waitJob(h, sub.json.id)).toMatchObject({ state: 'done' });
      expect((await api(h, 'GET', `/api/jobs/${sub.json.id}/result`)).json).toMatchObject({ sum: sumOfSquares(20_000n).toString() });
      const refused = await api<{ error: { message: string } }>(h, 'POST', '/api/jobs', { task: 'sum-squares', start: 1, end: 9, params: { power: 'x' } });
      expect(refused.status).toBe(400);
      expect(refused.json.error.message).toMatch(/^--power must be an integer/);
    } finally {
      worker.kill('SIGKILL');
      head.kill('SIGKILL');
    }
  });

  it('changes nothing outside tasks/builtin: the copy differs from the build by that one file', () => {
    const list = (d: string): string[] => readdirSync(d, { recursive: true }).map(String).sort();
    expect(list(path.join(root, 'dist')).filter((f) => !list(path.join(repo, 'dist')).includes(f))).toEqual([path.join('tasks', 'builtin', 'sum-squares.js')]);
  });
});

describe('the built-in tasks over HTTP', () => {
  it('GET /api/tasks describes each task, and /api/openapi.json has a submit body per task from the same schemas', async () => {
    const dir = tmpDir();
    dirs.push(dir);
    expect((await run(['init', '--data', dir])).code).toBe(0);
    const head = await startHead(dir);
    try {
      const tasks = (await api<{ name: string; range: boolean; output: unknown; params: { flag: string; choices: unknown; default: unknown }[] }[]>(head, 'GET', '/api/tasks')).json;
      expect(tasks.map((t) => t.name).sort()).toEqual(['collatz', 'exec', 'life', 'noop', 'primes']);
      expect(tasks.find((t) => t.name === 'life')).toMatchObject({ range: false, output: { mediaType: 'application/x-life-rle', extension: 'rle' } });
      expect(tasks.find((t) => t.name === 'collatz')?.params).toEqual([expect.objectContaining({ flag: '--mode', choices: ['steps', 'verify'], default: 'steps' })]);
      expect(tasks.find((t) => t.name === 'noop')?.output).toBeNull();
      expect((await api(head, 'GET', '/api/tasks', undefined, null)).status).toBe(401);
      const doc = (await api<{ openapi: string; paths: Record<string, unknown>; components: { schemas: Record<string, { properties?: Record<string, { properties?: Record<string, unknown> }>; required?: string[] }> } }>(head, 'GET', '/api/openapi.json')).json;
      expect(doc.openapi).toMatch(/^3\./);
      expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/jobs', '/api/jobs/{id}', '/api/jobs/{id}/result', '/api/jobs/{id}/cancel', '/api/nodes']));
      const life = doc.components.schemas['Submit_life'];
      expect(Object.keys(life?.properties?.['params']?.properties ?? {})).toEqual(['size', 'generations', 'rule', 'bounded', 'random', 'seed', 'parts', 'halo', 'checkpointEvery', 'pattern']);
      expect(life?.properties?.['start']).toBeUndefined();
      expect(doc.components.schemas['Submit_primes']?.required).toEqual(expect.arrayContaining(['task', 'start', 'end']));
    } finally {
      await head.kill();
    }
  });
});
