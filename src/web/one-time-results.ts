// What a console action shows once (a client secret, a set-password link) between its POST and the page that shows
// it: the POST keeps it here and answers 303 to that page, so a reload or the back button reads it again instead of
// repeating the action. It lives in the shared store (Redis, else the database: any node serves the page) for
// RESULT_SECONDS, sealed with AUTH_SECRET_KEY (src/security/secret-box.ts) to the page it belongs to, and opens only
// for the console session that made it.
import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import type { OidcStore } from '../../adapters/index.js';
import type { SecretBox } from '../security/secret-box.js';
import { renderPage } from './page.js';
import type { Viewer } from './web-session.js';

/** How long a reload of the page still shows the value: time to copy it, not to keep it. */
export const RESULT_SECONDS = 300;

/** The store's model name of the kept results. */
export const CONSOLE_RESULT_MODEL = 'ConsoleResult';

interface StoredResult {
  sessionUid: string;
  viewerId: string;
  sealed: string;
}

export class OneTimeResults {
  readonly #records;

  constructor(
    store: OidcStore,
    private readonly secrets: SecretBox,
  ) {
    this.#records = new store.Adapter(CONSOLE_RESULT_MODEL);
  }

  /** Keeps `value` for the page `subject` (e.g. `instance:<id>`) of this viewer's session; the id names it in the page's URL. */
  async keep(viewer: Viewer, subject: string, value: object): Promise<string> {
    const id = randomBytes(16).toString('base64url');
    const stored: StoredResult = {
      sessionUid: viewer.sessionUid,
      viewerId: viewer.account.id,
      sealed: await this.secrets.seal(JSON.stringify(value), purpose(subject, id)),
    };
    await this.#records.upsert(id, { ...stored }, RESULT_SECONDS);
    return id;
  }

  /** The value kept under `id` for `subject`, while it lasts and only in the session that kept it; else null. */
  async read<T>(viewer: Viewer, subject: string, id: string): Promise<T | null> {
    const stored = (await this.#records.find(id)) as Partial<StoredResult> | undefined;
    if (!stored || stored.sessionUid !== viewer.sessionUid || stored.viewerId !== viewer.account.id || typeof stored.sealed !== 'string') return null;
    try {
      return JSON.parse(await this.secrets.open(stored.sealed, purpose(subject, id))) as T;
    } catch {
      // Sealed for another page (a result id pasted under another instance or user) or under a retired secret key.
      return null;
    }
  }
}

function purpose(subject: string, id: string): string {
  return `console-result:${subject}:${id}`;
}

/** Answers 410 with the page saying a one-time value is gone: `message` says what it was and what to do instead. */
export function renderShownOnce(ctx: Context, message: string, back: { url: string; label: string }): Promise<void> {
  return renderPage(ctx, 'admin-shown-once', { title: 'Shown once', message, backUrl: back.url, backLabel: back.label }, 410);
}
