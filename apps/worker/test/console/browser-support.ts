/// <reference lib="dom" />
/** Debian's Chromium driven by playwright-core: a fresh profile per context, screenshots in test-artifacts/. */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { packageDirectory } from '../support/worker-process.js';

export const chromiumPath = '/usr/bin/chromium';
export const artifactsDirectory = join(packageDirectory, 'test-artifacts');

export interface BrowserSession {
  readonly context: BrowserContext;
  readonly page: Page;
  close(): Promise<void>;
}

/** A headless Chromium with its own fresh profile (no cookies shared with other sessions). */
export async function openBrowser(): Promise<BrowserSession> {
  const userDataDirectory = mkdtempSync(join(tmpdir(), 'console-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDirectory, {
    executablePath: chromiumPath,
    headless: true,
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
    viewport: { width: 1280, height: 900 },
  });
  // Below the test timeout, so a missing element fails with playwright's own message.
  context.setDefaultTimeout(15_000);
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    close: async () => {
      await context.close();
      rmSync(userDataDirectory, { recursive: true, force: true });
    },
  };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(artifactsDirectory, { recursive: true });
  const path = join(artifactsDirectory, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/**
 * From the top of the page, presses Tab until the focused element has this accessible label
 * (text or aria-label); fails after `maxTabs`.
 */
export async function tabTo(page: Page, label: string, maxTabs = 80): Promise<void> {
  await page.evaluate(() => {
    if (document.activeElement instanceof HTMLElement) document.activeElement.blur();
  });
  for (let tab = 0; tab < maxTabs; tab += 1) {
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => {
      const element = document.activeElement;
      if (element === null) return '';
      return element.getAttribute('aria-label') ?? element.textContent?.trim() ?? '';
    });
    if (focused === label) return;
  }
  throw new Error(`"${label}" was not reached with ${maxTabs} Tab presses`);
}
