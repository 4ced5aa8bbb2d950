import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext } from 'playwright-core';

/** Debian's chromium (installed by .ci/run); BRAMBLE_CHROMIUM overrides. No browser is ever downloaded. */
export const CHROMIUM = process.env['BRAMBLE_CHROMIUM'] ?? '/usr/bin/chromium';

export const haveChromium = existsSync(CHROMIUM);

/**
 * When Chromium is missing: fail on CI (it must be there), skip elsewhere. Returns whether to run.
 */
export function browserTestsEnabled(): boolean {
  if (haveChromium) return true;
  if (process.env['CI'] === 'true') throw new Error(`dashboard tests need Chromium at ${CHROMIUM} (apt-get install chromium), and CI=true`);
  return false;
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Headless Chromium with a fresh profile, trusting the cluster's self-signed certificate. */
export async function launchBrowser(viewport = { width: 1920, height: 1080 }): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(path.join(os.tmpdir(), 'bramble-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    ignoreHTTPSErrors: true,
    viewport,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
