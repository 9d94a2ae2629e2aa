// What the admin console's tests do besides driving pages: age a sign-in past the fresh window, read the audit trail
// of an account, post a form as the browser would but with fields of the test's choosing.
import type { Page } from 'playwright-core';
import { MAX_AUDIT_PAGE } from '../../src/audit/audit-log.js';
import type { TestServer } from './test-server.js';

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
