/**
 * `npm run screenshots`: the pictures in docs/screenshots (node wall, job page, node page, a Life job), taken
 * from real heads in headless Chromium. The tests do not write them (a test run leaves the tree clean);
 * run this after a visible change to the dashboard and commit the PNGs. Run by scripts/screenshots.mjs,
 * which bundles this file with esbuild (it reuses the tests' process helpers and worker simulator).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { loadCluster } from '../src/trust/index.js';
import { launchBrowser } from '../test/helpers/browser.js';
import { smallPng } from '../test/helpers/png.js';
import type { HeadHandle, Proc } from '../test/helpers/procs.js';
import { api, cleanup, startHead, startWorker, tmpDir, waitFor } from '../test/helpers/procs.js';
import type { SimCluster } from '../test/sim-workers.js';
import { startSimWorkers } from '../test/sim-workers.js';

// The browser globals the page functions below use (this file is type-checked without the DOM library).
interface DomElement {
  getAttribute(name: string): string | null;
}
declare const document: { querySelector(s: string): DomElement | null; querySelectorAll(s: string): Iterable<DomElement> & ArrayLike<DomElement> };

const OUT = path.resolve(process.argv[2] ?? 'docs/screenshots');

interface NodeJson {
  state: string;
}

/** Reduced to a 256-colour PNG so the repository stays small. */
async function shoot(page: Page, name: string): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const file = path.join(OUT, `${name}.png`);
  writeFileSync(file, smallPng(await page.screenshot()));
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
}

function loginUrlOf(head: HeadHandle): string {
  const m = /dashboard: (\S+)/.exec(head.out());
  if (!m) throw new Error(`the head printed no dashboard URL: ${head.out()}`);
  return m[1] as string;
}

const readyNodes = async (head: HeadHandle): Promise<number> => (await api<{ nodes: NodeJson[] }>(head, 'GET', '/api/nodes')).json.nodes.filter((n) => n.state === 'ready').length;

/** A primes job a third done, on a head with two real workers. */
async function jobPage(): Promise<void> {
  const dir = tmpDir();
  let head: HeadHandle | null = null;
  let workers: Proc[] = [];
  const browser = await launchBrowser({ width: 1600, height: 1000 });
  try {
    head = await startHead(dir, ['--telemetry-ms', '300']);
    const h = head;
    workers = [startWorker(h, 'w0', ['--slots', '1']), startWorker(h, 'w1', ['--slots', '1'])];
    await waitFor('two workers ready', async () => (await readyNodes(h)) === 2);
    const page = browser.context.pages()[0] ?? (await browser.context.newPage());
    await page.goto(loginUrlOf(h));
    const sub = await api<{ id: string }>(h, 'POST', '/api/jobs', { task: 'primes', start: '1', end: '6e10', chunk: '2e8' });
    if (sub.status !== 201) throw new Error(`submit refused: ${JSON.stringify(sub.json)}`);
    await page.goto(`${h.url}/job/${sub.json.id}`);
    await page.waitForFunction(() => Number(document.querySelector('.progress.big .pct')?.getAttribute('data-progress')) >= 0.35, undefined, { timeout: 180_000 });
    await page.waitForTimeout(600);
    await shoot(page, 'job-page');
  } finally {
    await browser.close();
    for (const w of workers) await w.kill();
    await head?.kill();
    cleanup(dir);
  }
}

/** 240 simulated workers on all their slots, then one of them. */
async function wallAndNode(): Promise<void> {
  const dir = tmpDir();
  let head: HeadHandle | null = null;
  let sims: SimCluster | null = null;
  const browser = await launchBrowser({ width: 1920, height: 1080 });
  try {
    head = await startHead(dir, ['--telemetry-ms', '1000', '--stale-ms', '6000', '--lost-ms', '30000', '--lease-ms', '20000']);
    const h = head;
    const cluster = loadCluster(dir);
    sims = await startSimWorkers({ host: '127.0.0.1', port: h.port, caHash: cluster.caHash, secret: cluster.secret, count: 240, workMs: 5000 });
    await waitFor('240 nodes ready', async () => (await readyNodes(h)) === 240, 60_000, 250);
    const page = browser.context.pages()[0] ?? (await browser.context.newPage());
    await page.goto(loginUrlOf(h));
    await page.waitForFunction(() => document.querySelectorAll('.tile[data-state="ready"]').length === 240, undefined, { timeout: 30_000 });
    await api(h, 'POST', '/api/jobs', { task: 'noop', params: { chunks: 200_000 } });
    await page.waitForFunction(() => [...document.querySelectorAll('.tile')].filter((t) => Number(t.getAttribute('data-busy')) > 0).length > 200, undefined, { timeout: 30_000 });
    await page.waitForTimeout(5000);
    await shoot(page, 'node-wall');
    await page.click('.tile[data-state="ready"] >> nth=100');
    await page.waitForSelector('svg.chart path');
    await page.waitForTimeout(1500);
    await shoot(page, 'node-page');
  } finally {
    await browser.close();
    await sims?.close();
    await head?.kill();
    cleanup(dir);
  }
}

/** A distributed Life job on 3 workers, a moment after one of them was killed: its strip rebuilt elsewhere. */
async function lifePage(): Promise<void> {
  const dir = tmpDir();
  let head: HeadHandle | null = null;
  let workers: Proc[] = [];
  const browser = await launchBrowser({ width: 1600, height: 1100 });
  try {
    head = await startHead(dir, ['--telemetry-ms', '300']);
    const h = head;
    workers = [startWorker(h, 'pi-01', ['--slots', '1']), startWorker(h, 'pi-02', ['--slots', '1']), startWorker(h, 'lab-pc', ['--slots', '2'])];
    await waitFor('three workers ready', async () => (await readyNodes(h)) === 3);
    const page = browser.context.pages()[0] ?? (await browser.context.newPage());
    await page.goto(loginUrlOf(h));
    const sub = await api<{ id: string }>(h, 'POST', '/api/jobs', { task: 'life', params: { size: '1024x768', generations: 100000, random: 0.3, seed: 5, checkpointEvery: 100 } });
    if (sub.status !== 201) throw new Error(`submit refused: ${JSON.stringify(sub.json)}`);
    await page.goto(`${h.url}/job/${sub.json.id}`);
    const generation = async (): Promise<number> => (await api<{ generation?: number; checkpoint?: number }>(h, 'GET', `/api/jobs/${sub.json.id}`)).json.checkpoint ?? 0;
    await waitFor('a checkpoint past generation 300', async () => (await generation()) >= 300, 120_000, 100);
    await (workers[1] as Proc).kill('SIGKILL');
    await page.waitForSelector('.life-part.rebuilt', { timeout: 30_000 });
    await page.waitForTimeout(1500); // the rebuilt strips' first pictures

    await shoot(page, 'life-page');
  } finally {
    await browser.close();
    for (const w of workers) await w.kill();
    await head?.kill();
    cleanup(dir);
  }
}

// SHOTS=life to take only some of them
const shots = (process.env['SHOTS'] ?? 'job,wall,life').split(',');
if (shots.includes('job')) await jobPage();
if (shots.includes('wall')) await wallAndNode();
if (shots.includes('life')) await lifePage();
