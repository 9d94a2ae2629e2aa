// What the admin console's tests do besides driving pages: start and close the deployment a suite drives, age a
// sign-in past the fresh window, let a one-time result's time run out, read the audit trail of an account, post a form as the browser would but with fields
// of the test's choosing, send a form past the browser's own checks, and read the problem said under a field.
import { expect } from 'chai';
import type { Browser, Page, Response } from 'playwright-core';
import { MAX_AUDIT_PAGE } from '../../src/audit/audit-log.js';
import { CONSOLE_RESULT_MODEL } from '../../src/web/one-time-results.js';
import { launchChromium } from './chromium.js';
import { addAccount } from './fixtures.js';
import { startTestServer, type Backend, type TestServer } from './test-server.js';

/** A console suite's deployment: the server on `backend` with the admin `root` it signs in as, and Chromium. */
export async function consoleDeployment(backend: Backend, env: Record<string, string> = {}): Promise<{ server: TestServer; browser: Browser; rootId: string }> {
  const [server, browser] = await Promise.all([startTestServer(backend, env), launchChromium()]);
  const root = await addAccount(server, 'root', { isAdmin: true });
  return { server, browser, rootId: root.id };
}

/** Closes what consoleDeployment started (either may be missing when its `before` failed). */
export async function closeDeployment(server: TestServer | undefined, browser: Browser | undefined): Promise<void> {
  await browser?.close();
  await server?.close();
}

/**
 * Makes every provider session of the account look as if its password was entered `seconds` ago (the session's
 * loginTs is what its authTime() reads), so the `fresh` guard asks for it again.
 */
export async function ageSignIn(server: TestServer, accountId: string, seconds: number): Promise<void> {
  const { oidcStore } = server.services;
  const sessions = new oidcStore.Adapter('Session');
  const now = Math.floor(Date.now() / 1000);
  for (const session of await oidcStore.sessionsOfAccount(accountId)) {
    const expiresIn = typeof session.exp === 'number' ? session.exp - now : undefined;
    await sessions.upsert(session.jti as string, { ...session, loginTs: now - seconds }, expiresIn);
  }
}

/**
 * Ends the life of the one-time result shown at `url` (its last path segment is its id, src/web/one-time-results.ts)
 * as RESULT_SECONDS passing would: the store no longer has it.
 */
export async function expireResult(server: TestServer, url: string): Promise<void> {
  const id = new URL(url).pathname.split('/').at(-1) as string;
  await new server.services.oidcStore.Adapter(CONSOLE_RESULT_MODEL).destroy(id);
}

/** The actions of the account's audit entries, oldest first. */
export async function auditActions(server: TestServer, accountId: string): Promise<string[]> {
  const { events } = await server.services.audit.query({ accountId, limit: MAX_AUDIT_PAGE });
  return events.map((event) => event.action).reverse();
}

/** Posts an urlencoded form from the page's browser context (its cookies go along), without following redirects. */
export async function postForm(page: Page, url: string, form: Record<string, string>): Promise<{ status: number; location: string | undefined }> {
  const response = await page.request.post(url, { form, maxRedirects: 0, headers: { accept: 'text/html' } });
  return { status: response.status(), location: response.headers().location };
}

/**
 * Sends the form holding the button named `button` as a browser without constraint validation would (required,
 * minlength, type=url left unchecked), so the server's checks alone answer; resolves with the answer once loaded.
 */
export async function submitUnchecked(page: Page, button: string): Promise<Response> {
  await page
    .locator('form')
    .filter({ has: page.getByRole('button', { name: button }) })
    .evaluate((form) => ((form as unknown as { noValidate: boolean }).noValidate = true));
  const [answer] = await Promise.all([page.waitForResponse((response) => response.request().method() === 'POST'), page.getByRole('button', { name: button }).click()]);
  await page.waitForLoadState();
  return answer;
}

/**
 * What is said under the control labelled `label` (exactly, for a string), checked to be wired to it the way assistive
 * technology reads it: aria-invalid="true" and an aria-describedby that names the error's element.
 */
export async function problemUnder(page: Page, label: string | RegExp): Promise<string> {
  const control = page.getByLabel(label, { exact: typeof label === 'string' });
  expect(await control.getAttribute('aria-invalid'), `${String(label)} is marked invalid`).to.equal('true');
  const errorId = ((await control.getAttribute('aria-describedby')) ?? '').split(' ').find((id) => id.endsWith('-error'));
  expect(errorId, `${String(label)} is described by its error`).to.be.a('string');
  return (await page.locator(`#${errorId}`).textContent()) ?? '';
}
