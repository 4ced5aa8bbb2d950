import type { Page, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from './helpers/browser.js';
import { browserTestsEnabled, launchBrowser } from './helpers/browser.js';
import type { HeadHandle } from './helpers/procs.js';
import { api, cleanup, startHead, tmpDir, waitFor } from './helpers/procs.js';

// The dashboard's submit form is idempotent (issue 18): one id per opened form, in a real Chromium
// against a real head. A lost answer is made by letting the request reach the head and then resetting
// the browser's connection (Playwright's route.fetch + route.abort).

const enabled = browserTestsEnabled();

interface DomForm {
  requestSubmit(): void;
}
declare const document: { querySelector(s: string): DomForm | null };

interface Status {
  id: string;
  task: string;
  end: string;
}

describe.skipIf(!enabled)('the submit form makes one job per opened form', () => {
  const dir = tmpDir('bramble-idem-dash-');
  let head: HeadHandle;
  let browser: Browser;
  let page: Page;

  const jobs = async (): Promise<Status[]> => (await api<{ jobs: Status[] }>(head, 'GET', '/api/jobs')).json.jobs;
  const openForm = async (end: string): Promise<void> => {
    await page.goto(`${head.url}/jobs/new`);
    await page.waitForSelector('#f-end');
    await page.fill('#f-start', '1');
    await page.fill('#f-end', end);
    await page.fill('#f-chunk', '1e5');
  };
  /** The next POST /api/jobs reaches the head, but the browser's connection is reset before the answer. */
  let loseNext = false;
  const loseNextAnswer = (): void => {
    loseNext = true;
  };
  const lossy = async (route: Route): Promise<void> => {
    if (!loseNext || route.request().method() !== 'POST') return route.fallback();
    loseNext = false;
    await route.fetch(); // the head gets the submit and answers; the browser never sees the answer
    await route.abort('connectionreset');
  };
  const jobPageId = async (): Promise<string> => {
    await page.waitForURL(/\/job\/[a-z0-9-]+$/);
    return decodeURIComponent(new URL(page.url()).pathname.split('/')[2] as string);
  };

  beforeAll(async () => {
    head = await startHead(dir);
    browser = await launchBrowser({ width: 1280, height: 900 });
    page = browser.context.pages()[0] ?? (await browser.context.newPage());
    const login = /dashboard: (\S+)/.exec(head.out())?.[1];
    if (!login) throw new Error(`the head printed no dashboard URL: ${head.out()}`);
    await page.goto(login);
    await page.route('**/api/jobs', lossy);
  });

  afterAll(async () => {
    await browser?.close();
    await head?.kill();
    cleanup(dir);
  });

  it('a second press after a network error shows the job the first press made', async () => {
    await openForm('1e6');
    loseNextAnswer();
    await page.click('#submit-job');
    await page.waitForSelector('#form-error:not([hidden])');
    expect(await page.textContent('#form-error')).toContain('cannot reach the head');
    const made = await waitFor('the job the lost try made', async () => (await jobs())[0]);
    expect(made.id).toMatch(/^[0-9a-f]{12}$/);
    await page.click('#submit-job');
    expect(await jobPageId()).toBe(made.id);
    expect((await jobs()).map((j) => j.id)).toEqual([made.id]);
  });

  it('two submits of one form (a double submit) make one job', async () => {
    await openForm('2e6');
    await page.evaluate(() => {
      const f = document.querySelector('#submit-form');
      f?.requestSubmit();
      f?.requestSubmit();
    });
    const id = await jobPageId();
    const all = await jobs();
    expect(all).toHaveLength(2);
    expect(all.filter((j) => j.end === '2000000').map((j) => j.id)).toEqual([id]);
  });

  it('after a lost answer and a changed field, says which job was made and what differs, then submits anew', async () => {
    await openForm('3e6');
    loseNextAnswer();
    await page.click('#submit-job');
    await page.waitForSelector('#form-error:not([hidden])');
    const lost = await waitFor('the job the lost try made', async () => (await jobs()).find((j) => j.end === '3000000'));
    await page.fill('#f-end', '4e6');
    await page.click('#submit-job');
    await page.waitForFunction(() => (document.querySelector('#form-error') as unknown as { textContent: string } | null)?.textContent.includes('differs') ?? false);
    expect(await page.textContent('#form-error')).toBe(
      `An earlier try of this form did reach the head: it made job ${lost.id} (--end differs: 3000000 vs 4000000). Press Start job again to submit these settings as a new job.`,
    );
    expect(await page.getAttribute('[data-field="end"]', 'class')).toContain('invalid');
    await page.click('#submit-job');
    const fresh = await jobPageId();
    expect(fresh).not.toBe(lost.id);
    expect((await jobs()).map((j) => j.end)).toEqual(['1000000', '2000000', '3000000', '4000000']);
  });
});
