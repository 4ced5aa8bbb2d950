import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { temperatureColour } from '../src/dashboard/index.js';
import { loadCluster } from '../src/trust/index.js';
import type { Browser } from './helpers/browser.js';
import { browserTestsEnabled, launchBrowser } from './helpers/browser.js';
import { smallPng } from './helpers/png.js';
import type { HeadHandle, Proc } from './helpers/procs.js';
import { api, cleanup, startHead, startWorker, tmpDir, waitFor } from './helpers/procs.js';
import type { SimCluster } from './sim-workers.js';
import { cpuSeconds, startSimWorkers } from './sim-workers.js';

const enabled = browserTestsEnabled();

// The few browser globals the page functions below use (this file is type-checked without the DOM library).
interface DomElement {
  getAttribute(name: string): string | null;
  textContent: string | null;
}
declare const document: { querySelector(s: string): DomElement | null; querySelectorAll(s: string): Iterable<DomElement> & ArrayLike<DomElement> };
declare function getComputedStyle(e: DomElement): { backgroundColor: string; backgroundImage: string };
declare function requestAnimationFrame(f: (t: number) => void): number;
/** Set DASHBOARD_REVIEW_DIR to keep the screenshots (for reviewing the design). */
const REVIEW = process.env['DASHBOARD_REVIEW_DIR'];
/**
 * Where the screenshots go: a temporary dir unless DASHBOARD_REVIEW_DIR is set. The tests never write
 * docs/screenshots (`npm run screenshots` does), so a test run leaves the tree clean.
 */
const SHOTS = REVIEW ?? mkdtempSync(path.join(os.tmpdir(), 'bramble-shots-'));
afterAll(() => {
  if (!REVIEW) rmSync(SHOTS, { recursive: true, force: true });
});

/** A screenshot, reduced to a 256-colour PNG as docs/screenshots' are. */
async function shoot(page: Page, name: string, dir = SHOTS): Promise<void> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `${name}.png`), smallPng(await page.screenshot()));
}
async function review(page: Page, name: string): Promise<void> {
  if (REVIEW) await shoot(page, name, REVIEW);
}

interface NodeJson {
  id: string;
  name: string;
  state: string;
  telemetry: { temp?: number };
}
interface Status {
  id: string;
  state: string;
  progress: number;
  chunks: { total: number; done: number };
}

function loginUrlOf(head: HeadHandle): string {
  const m = /dashboard: (\S+)/.exec(head.out());
  if (!m) throw new Error(`the head printed no dashboard URL: ${head.out()}`);
  return m[1] as string;
}

/** Parses the Prometheus text format strictly enough to catch a malformed line. */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  const typed = new Set<string>();
  const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:\\.|[^"\\])*"(?:,|(?=\})))*\})? (-?[0-9.]+(?:e[+-]?\d+)?|NaN|\+Inf|-Inf)$/;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const t = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (gauge|counter|histogram|summary|untyped)$/.exec(line);
    if (t) {
      typed.add(t[1] as string);
      continue;
    }
    if (line.startsWith('# HELP ')) continue;
    const m = sample.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${JSON.stringify(line)}`);
    if (!typed.has(m[1] as string)) throw new Error(`sample before its # TYPE line: ${line}`);
    out.set((m[1] as string) + (m[2] ?? ''), Number(m[3]));
  }
  return out;
}

async function tileColours(page: Page): Promise<{ id: string; temp: string; bg: string; state: string }[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll('.tile')].map((e) => ({ id: e.getAttribute('data-id') ?? '', temp: e.getAttribute('data-temp') ?? '', bg: getComputedStyle(e).backgroundColor, state: e.getAttribute('data-state') ?? '' })),
  );
}

describe.skipIf(!enabled)('the dashboard in Chromium, on a head with two real workers', () => {
  const dir = tmpDir();
  let head: HeadHandle;
  let workers: Proc[] = [];
  let browser: Browser;
  let page: Page;
  let stopping = false;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    head = await startHead(dir, ['--lease-ms', '3000', '--telemetry-ms', '300', '--stale-ms', '1500', '--lost-ms', '4000']);
    head.child.on('exit', (code, signal) => {
      if (!stopping) console.error(`the head stopped early (code ${code}, signal ${signal}): ${head.err().slice(-3000)}`);
    });
    workers = [startWorker(head, 'w0', ['--slots', '1']), startWorker(head, 'w1', ['--slots', '1'])];
    await waitFor('two workers ready', async () => (await api<{ nodes: NodeJson[] }>(head, 'GET', '/api/nodes')).json.nodes.filter((n) => n.state === 'ready').length === 2);
    browser = await launchBrowser({ width: 1600, height: 1000 });
    page = browser.context.pages()[0] ?? (await browser.context.newPage());
  });

  afterAll(async () => {
    stopping = true;
    await browser?.close();
    for (const w of workers) await w.kill();
    await head?.kill();
    cleanup(dir);
  });

  it('refuses the page without a session; the printed login URL sets an HttpOnly SameSite cookie', async () => {
    const denied = await page.goto(head.url + '/');
    expect(denied?.status()).toBe(401);
    expect(await page.textContent('body')).toContain('Log in');
    const stream = await api(head, 'GET', '/api/stream', undefined, null);
    expect(stream.status).toBe(401);

    const res = await page.goto(loginUrlOf(head));
    expect(res?.status()).toBe(200);
    expect(new URL(page.url()).pathname).toBe('/');
    expect(page.url()).not.toContain('token');
    const cookie = (await browser.context.cookies()).find((c) => c.name === '__Host-bramble_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', secure: true, path: '/' });
    await page.waitForSelector('#conn[data-state="live"]');
    expect(await page.isHidden('#insecure')).toBe(true);
  });

  it('shows a tile per worker, coloured by its temperature (grey when it has no sensor)', async () => {
    await page.waitForFunction(() => document.querySelectorAll('.tile[data-state="ready"]').length === 2);
    const nodes = (await api<{ nodes: NodeJson[] }>(head, 'GET', '/api/nodes')).json.nodes;
    const tiles = await tileColours(page);
    expect(tiles.map((t) => t.id).sort()).toEqual(nodes.map((n) => n.id).sort());
    for (const t of tiles) {
      const n = nodes.find((x) => x.id === t.id) as NodeJson;
      const temp = t.temp === '' ? null : Number(t.temp);
      if (n.telemetry.temp === undefined) expect(temp).toBeNull();
      else expect(Math.abs((temp as number) - n.telemetry.temp)).toBeLessThan(5);
      expect(t.bg).toBe(temperatureColour(temp));
    }
    expect(await page.textContent('#wall')).toContain('w0');
    expect(await page.textContent('#wall')).toContain('w1');

    // a click opens the node (real node ids carry '#', which must survive the URL)
    const w0 = nodes.find((n) => n.name === 'w0') as NodeJson;
    expect(w0.id).toContain('#');
    await page.click(`.tile[data-id="${w0.id}"]`);
    await page.waitForSelector('.page-title h1');
    expect(await page.textContent('.page-title h1')).toBe('w0');
    expect(decodeURIComponent(new URL(page.url()).pathname)).toBe(`/node/${w0.id}`);
    await page.waitForSelector('svg.chart');
    expect(await page.textContent('.facts')).toContain(w0.id);
    await page.goBack();
    await page.waitForSelector('.tile');
  });

  it('shows the API validation message on the form, then runs a primes job submitted from it to 100%', async () => {
    await page.click('nav a[data-nav="submit"]');
    await page.waitForSelector('#submit-form');
    await page.fill('#f-start', '1');
    await page.fill('#f-end', '');
    await page.click('#submit-job');
    await page.waitForSelector('#form-error:not([hidden])');
    expect(await page.textContent('#form-error')).toContain('--end is required');
    expect(await page.getAttribute('[data-field="end"]', 'class')).toContain('invalid');
    await review(page, 'submit-error');

    await page.fill('#f-end', '3e7');
    await page.fill('#f-chunk', '1e6');
    await page.click('#submit-job');
    await page.waitForURL(/\/job\/[a-z0-9-]+$/);
    const id = decodeURIComponent(new URL(page.url()).pathname.split('/')[2] as string);
    await page.waitForFunction(() => document.querySelector('.page-title [data-state]')?.getAttribute('data-state') === 'done', undefined, { timeout: 60_000 });
    expect(await page.textContent('.progress.big .pct')).toBe('100%');
    const st = (await api<Status>(head, 'GET', `/api/jobs/${id}`)).json;
    expect(st).toMatchObject({ state: 'done', progress: 1, chunks: { total: 30, done: 30 } });
    await page.waitForFunction(() => document.querySelector('#chunkmap')?.getAttribute('data-done') === '30');
    await page.waitForFunction(() => (document.querySelector('.summary-big')?.textContent ?? '').includes('1,857,859'));
    await review(page, 'job-done');
    expect(await page.textContent('.summary-big')).toContain('29,999,999'); // the largest prime below 3e7 is 29,999,999
    await page.click('a.back');
    await page.waitForSelector(`tr[data-job="${id}"]`);
    expect(await page.textContent(`tr[data-job="${id}"]`)).toContain('100%');
    await review(page, 'jobs');
  });

  it('shows the Game of Life population chart and the download link, and the Collatz record', async () => {
    await page.click('nav a[data-nav="submit"]');
    await page.click('.task-tabs button[data-task="life"]');
    await page.fill('#f-size', '200x150');
    await page.fill('#f-generations', '300');
    await page.click('#submit-job');
    await page.waitForURL(/\/job\/[a-z0-9-]+$/);
    const lifeId = decodeURIComponent(new URL(page.url()).pathname.split('/')[2] as string);
    await page.waitForFunction(() => document.querySelector('.page-title [data-state]')?.getAttribute('data-state') === 'done', undefined, { timeout: 60_000 });
    await page.waitForSelector('.pop-chart svg.chart path');
    const result = (await api<{ population: string }>(head, 'GET', `/api/jobs/${lifeId}/result`)).json;
    expect(await page.textContent('.summary-big')).toContain(Number(result.population).toLocaleString('en-US'));
    expect(await page.getAttribute('#download', 'href')).toBe(`/api/jobs/${lifeId}/output`);
    await review(page, 'life');

    const sub = await api<Status>(head, 'POST', '/api/jobs', { task: 'collatz', start: '1', end: '1e6' });
    await page.goto(`${head.url}/job/${sub.json.id}`);
    await page.waitForFunction(() => (document.querySelector('.summary-big')?.textContent ?? '').includes('837,799'), undefined, { timeout: 60_000 });
    expect(await page.textContent('.summary-big')).toContain('524 steps');
  });

  it('cancels a running job from its page (screenshot of the job page on the way)', async () => {
    const sub = await api<Status>(head, 'POST', '/api/jobs', { task: 'primes', start: '1', end: '6e10', chunk: '2e8' });
    expect(sub.status).toBe(201);
    const id = sub.json.id;
    await page.goto(`${head.url}/job/${id}`);
    await page.waitForFunction(() => Number(document.querySelector('.progress.big .pct')?.getAttribute('data-progress')) >= 0.35, undefined, { timeout: 90_000 });
    await page.waitForTimeout(600);
    await shoot(page, 'job-page');
    await page.click('#cancel');
    expect(await page.textContent('#cancel')).toContain('again');
    await page.click('#cancel');
    await page.waitForFunction(() => document.querySelector('.page-title [data-state]')?.getAttribute('data-state') === 'cancelled');
    expect((await api<Status>(head, 'GET', `/api/jobs/${id}`)).json.state).toBe('cancelled');
    expect(await page.isVisible('#cancel')).toBe(false);
    await review(page, 'job-cancelled');
  });

  it('serves /metrics in the Prometheus text format, and only with the admin token', async () => {
    expect((await api(head, 'GET', '/metrics', undefined, null)).status).toBe(401);
    const r = await api<string>(head, 'GET', '/metrics');
    expect(r.status).toBe(200);
    const m = parseMetrics(r.json);
    expect(m.get('bramble_nodes{state="ready"}')).toBe(2);
    expect(m.get('bramble_connected_workers')).toBe(2);
    expect(m.get('bramble_slots_total')).toBe(2);
    expect(m.get('bramble_jobs{state="done"}')).toBe(3);
    expect(m.get('bramble_jobs{state="cancelled"}')).toBe(1);
    expect(m.get('bramble_results_accepted_total')).toBeGreaterThanOrEqual(30);
    for (const k of ['bramble_results_duplicate_total', 'bramble_leases_expired_total', 'bramble_backup_leases_total', 'bramble_bad_messages_total', 'bramble_slots_busy', 'bramble_dashboard_clients']) {
      expect(m.has(k), k).toBe(true);
    }
  });

  it("turns a SIGKILLed worker's tile stale, then lost, and logs it", async () => {
    await page.goto(head.url + '/');
    await page.waitForSelector('.tile[data-state="ready"]');
    const nodes = (await api<{ nodes: NodeJson[] }>(head, 'GET', '/api/nodes')).json.nodes;
    const w1 = nodes.find((n) => n.name === 'w1') as NodeJson;
    const tile = `.tile[data-id="${w1.id}"]`;
    await workers[1]?.kill('SIGKILL');
    const t0 = Date.now();
    await page.waitForSelector(`${tile}[data-state="stale"]`, { timeout: 10_000 });
    expect(await page.textContent(`${tile} .t-badge`)).toBe('STALE');
    await page.waitForSelector(`${tile}[data-state="lost"]`, { timeout: 15_000 });
    expect(await page.textContent(`${tile} .t-badge`)).toBe('LOST');
    await review(page, 'wall-lost');
    expect(Date.now() - t0).toBeGreaterThan(1000);
    const other = nodes.find((n) => n.name === 'w0') as NodeJson;
    expect(await page.getAttribute(`.tile[data-id="${other.id}"]`, 'data-state')).toBe('ready');

    await page.click('nav a[data-nav="log"]');
    await page.waitForSelector('#log-table');
    await page.click('.chip[data-level="info"]');
    await page.waitForFunction(() => [...document.querySelectorAll('#log-table tbody tr')].every((r) => r.getAttribute('data-level') !== 'info'));
    await review(page, 'log');
    const text = await page.textContent('#log-table');
    expect(text).toContain('node w1 left');
    expect(text).toContain('node w1 is lost');
  });
});

describe.skipIf(!enabled)('the dashboard with an --insecure head', () => {
  it('shows a red INSECURE banner', async () => {
    const dir = tmpDir();
    const head = await startHead(dir, ['--insecure']);
    const browser = await launchBrowser({ width: 1280, height: 800 });
    try {
      const page = browser.context.pages()[0] ?? (await browser.context.newPage());
      await page.goto(loginUrlOf(head));
      await page.waitForSelector('#insecure:not([hidden])');
      expect(await page.textContent('#insecure')).toContain('INSECURE');
      await review(page, 'insecure');
      expect(await page.evaluate(() => getComputedStyle(document.querySelector('#insecure') as DomElement).backgroundImage)).toContain('185, 28, 28');
    } finally {
      await browser.close();
      await head.kill();
      cleanup(dir);
    }
  });
});

describe.skipIf(!enabled)('the node wall with 240 simulated workers', () => {
  const dir = tmpDir();
  let head: HeadHandle;
  let sims: SimCluster | null = null;
  let browser: Browser;

  afterAll(async () => {
    await browser?.close();
    await sims?.close();
    await head?.kill();
    cleanup(dir);
  });

  it('renders 240 tiles coloured by temperature, the head stays light and the page responsive', async () => {
    mkdirSync(SHOTS, { recursive: true });
    head = await startHead(dir, ['--telemetry-ms', '1000', '--stale-ms', '6000', '--lost-ms', '30000', '--lease-ms', '20000']);
    const cluster = loadCluster(dir);
    sims = await startSimWorkers({ host: '127.0.0.1', port: head.port, caHash: cluster.caHash, secret: cluster.secret, count: 240, workMs: 5000 });
    await waitFor('240 nodes ready', async () => (await api<{ nodes: NodeJson[] }>(head, 'GET', '/api/nodes')).json.nodes.filter((n) => n.state === 'ready').length === 240, 60_000, 250);

    browser = await launchBrowser({ width: 1920, height: 1080 });
    const page = browser.context.pages()[0] ?? (await browser.context.newPage());
    await page.goto(loginUrlOf(head));
    const t0 = Date.now();
    await page.waitForFunction(() => document.querySelectorAll('.tile[data-state="ready"]').length === 240, undefined, { timeout: 30_000 });
    const renderMs = Date.now() - t0;

    // phase 1: telemetry only (240 reports a second, five times the default rate), one dashboard open
    await new Promise((r) => setTimeout(r, 2000));
    const pid = head.child.pid as number;
    let c0 = await cpuSeconds(pid);
    let w0 = Date.now();
    await new Promise((r) => setTimeout(r, 15_000));
    const idleCpu = (100 * ((await cpuSeconds(pid)) - c0)) / ((Date.now() - w0) / 1000);

    // every tile's colour is the scale's colour for the temperature it shows, which is what its worker sent
    const tiles = await tileColours(page);
    expect(tiles).toHaveLength(240);
    const byNode = new Map(sims.workers.map((w) => [w.node, w]));
    let grey = 0;
    for (const t of tiles) {
      const w = byNode.get(t.id);
      expect(w, t.id).toBeDefined();
      const temp = t.temp === '' ? null : Number(t.temp);
      expect(t.bg).toBe(temperatureColour(temp));
      if (w?.baseTemp === null) {
        expect(temp).toBeNull();
        grey++;
      } else expect(Math.abs((temp as number) - (w?.baseTemp as number))).toBeLessThanOrEqual(0.31);
    }
    expect(grey).toBeGreaterThan(0);
    const hues = new Set(tiles.map((t) => t.bg));
    expect(hues.size).toBeGreaterThan(50);

    // phase 2: a job on all 960 slots (noop chunks of ~5 s: ~190 results a second)
    const job = await api<Status>(head, 'POST', '/api/jobs', { task: 'noop', params: { chunks: 200_000 } });
    expect(job.status).toBe(201);
    await page.waitForFunction(() => [...document.querySelectorAll('.tile')].filter((t) => Number(t.getAttribute('data-busy')) > 0).length > 200, undefined, { timeout: 30_000 });
    await new Promise((r) => setTimeout(r, 3000));
    const done = async (): Promise<number> => (await api<Status>(head, 'GET', `/api/jobs/${job.json.id}`)).json.chunks.done;
    const d0 = await done();
    c0 = await cpuSeconds(pid);
    w0 = Date.now();
    await new Promise((r) => setTimeout(r, 15_000));
    const busySeconds = (Date.now() - w0) / 1000;
    const busyCpu = (100 * ((await cpuSeconds(pid)) - c0)) / busySeconds;
    const resultsPerSecond = ((await done()) - d0) / busySeconds;

    // the page keeps up: frames keep coming and a click opens a node at once
    const frames = await page.evaluate(
      () =>
        new Promise<{ frames: number; worstMs: number; longTaskMs: number }>((resolve) => {
          let long = 0;
          new PerformanceObserver((list) => {
            for (const e of list.getEntries()) long += e.duration;
          }).observe({ type: 'longtask' as 'mark' }); // Chromium's long tasks (not in Node's EntryType list)
          let last = performance.now();
          let worst = 0;
          let n = 0;
          const end = last + 3000;
          const step = (t: number): void => {
            worst = Math.max(worst, t - last);
            last = t;
            n++;
            if (t < end) requestAnimationFrame(step);
            else resolve({ frames: n, worstMs: Math.round(worst), longTaskMs: Math.round(long) });
          };
          requestAnimationFrame(step);
        }),
    );
    await shoot(page, 'node-wall');
    const c1 = Date.now();
    await page.click('.tile[data-state="ready"] >> nth=100');
    await page.waitForSelector('svg.chart path');
    const clickMs = Date.now() - c1;
    await page.waitForTimeout(1500);
    await shoot(page, 'node-page');

    const metrics = parseMetrics((await api<string>(head, 'GET', '/metrics')).json);
    expect(metrics.get('bramble_nodes{state="ready"}')).toBe(240);
    expect(metrics.get('bramble_slots_total')).toBe(960);
    expect(metrics.get('bramble_dashboard_clients')).toBe(1);

    console.log(
      `[dashboard] 240 workers: wall rendered in ${renderMs} ms; head CPU ${idleCpu.toFixed(1)}% of one core with telemetry only (${sims.stats.telemetry} reports so far), ` +
        `${busyCpu.toFixed(1)}% while also taking ${Math.round(resultsPerSecond)} results/s; page ${frames.frames} frames in 3 s (worst gap ${frames.worstMs} ms, ${frames.longTaskMs} ms in long tasks); node page opened in ${clickMs} ms`,
    );
    expect(idleCpu).toBeLessThan(40);
    expect(frames.worstMs).toBeLessThan(3000); // loose: a shared 2-core CI machine
    expect(clickMs).toBeLessThan(10_000);
    await api(head, 'POST', `/api/jobs/${job.json.id}/cancel`);
  });
});
