// Driving the server's own pages in Chromium: signing in through the real sign-in page, checking a page with
// axe-core, and saving the screenshots the README shows.
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import axe from 'axe-core';
import type { Page } from 'playwright-core';
import { PASSWORD } from './fixtures.js';
import type { TestServer } from './test-server.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/**
 * Where screenshots go: a scratch folder the tree ignores, so a test run leaves the tree as it was; `npm run
 * screenshots` (UPDATE_SCREENSHOTS=1) writes the README's pictures in docs/screenshots instead.
 */
const SCREENSHOTS_DIR = process.env.UPDATE_SCREENSHOTS === '1' ? join(ROOT, 'docs', 'screenshots') : join(ROOT, '.test-output', 'screenshots');

/** Opens `path`, signs in on the real sign-in page it leads to, and waits to be back on `path`. */
export async function signInToWeb(page: Page, server: TestServer, username: string, password = PASSWORD, path = '/account'): Promise<void> {
  await page.goto(`${server.url}${path}`);
  await page.fill('input[name="username"]', username);
  await page.fill('input[name="password"]', password);
  await page.click('button:has-text("Sign in")');
  await page.waitForURL(`${server.url}${path}`);
}

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[]; failureSummary?: string }[];
}

/**
 * Runs axe-core on the page as it is and fails on any serious or critical violation, saying which rule, where and
 * why. The script goes in through page.evaluate, which the page's CSP (script-src 'self') does not govern.
 */
export async function expectAccessible(page: Page, label: string): Promise<void> {
  await page.evaluate(axe.source);
  const violations = await page.evaluate(async () => {
    const found = await (globalThis as unknown as { axe: typeof axe }).axe.run({ resultTypes: ['violations'] });
    return found.violations.map(({ id, impact, help, nodes }) => ({
      id,
      impact: impact ?? null,
      help,
      nodes: nodes.map(({ target, failureSummary }) => ({ target: target as unknown[], failureSummary })),
    }));
  });
  const serious = (violations as AxeViolation[]).filter(({ impact }) => impact === 'serious' || impact === 'critical');
  if (serious.length === 0) return;
  const report = serious
    .map(({ id, impact, help, nodes }) =>
      [`${impact}: ${id} (${help})`, ...nodes.map(({ target, failureSummary }) => `  at ${JSON.stringify(target)}: ${failureSummary ?? ''}`)].join('\n'),
    )
    .join('\n');
  throw new Error(`axe found serious accessibility violations on ${label}:\n${report}`);
}

/** Saves <screenshots folder>/<name>-desktop.png (1280×800) and <name>-phone.png (390×844, full page); restores the size. */
export async function screenshots(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS_DIR, { recursive: true });
  const before = page.viewportSize();
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.screenshot({ path: join(SCREENSHOTS_DIR, `${name}-desktop.png`) });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: join(SCREENSHOTS_DIR, `${name}-phone.png`), fullPage: true });
  if (before) await page.setViewportSize(before);
}
