// The auth server's revocation stream (GET /revocations, Server-Sent Events), heard when options.revocationStream is
// on: each event is handed to the client (AuthClient) as it comes, which drops what it holds of the token, grant,
// session or user at once. The connection authenticates as at the token endpoint (HTTP Basic), resumes after the last
// event heard (Last-Event-ID) and reconnects with a growing, jittered delay; while it is down the client's usual
// checks (introspection, cached for at most AUTH_CACHE_TTL) bound how long a revoked token may still work.
// The stream format is simple enough that reading it by hand beats a dependency (the SDK ships jose, openid-client
// and cookie only).
import { messageOf } from './errors.js';
import type { ResolvedOptions } from './options.js';

export interface RevocationNotice {
  /** The event id: what Last-Event-ID resumes after. */
  id: string | undefined;
  type: string;
  sub?: string | null;
  grantId?: string | null;
  sid?: string | null;
  jti?: string | null;
}

export type RevocationFetch = (url: string, init: RequestInit) => Promise<Response>;

/** First and longest delay between reconnections. */
const FIRST_RETRY_MS = 500;
const LONGEST_RETRY_MS = 30_000;
/** A stream quiet for this long (three heartbeats missed) is taken for dead and reopened. */
const SILENCE_MS = 60_000;

/** RFC 6749 §2.3.1: the client id and secret form-encoded, then base64. */
function basicAuthorization(clientId: string, secret: string): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(secret)}`).toString('base64')}`;
}

export class RevocationSubscription {
  #lastEventId: string | undefined;
  #abort: AbortController | undefined;
  #stopped = true;
  #connected = false;
  #sleep: { timer: NodeJS.Timeout; wake: () => void } | undefined;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly fetch: RevocationFetch,
    private readonly handle: (notice: RevocationNotice) => Promise<void>,
    private readonly onState: (connected: boolean) => void = () => undefined,
  ) {}

  /** Whether the stream is open now. */
  get connected(): boolean {
    return this.#connected;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    void this.#run();
  }

  stop(): void {
    this.#stopped = true;
    this.#abort?.abort();
    if (this.#sleep) {
      clearTimeout(this.#sleep.timer);
      this.#sleep.wake();
    }
  }

  async #run(): Promise<void> {
    for (let attempt = 0; !this.#stopped; attempt++) {
      try {
        if (await this.#listen()) attempt = 0;
      } catch (error) {
        if (!this.#stopped) this.options.logger.warn('revocation stream interrupted', { error: messageOf(error) });
      }
      this.#setConnected(false);
      if (this.#stopped) return;
      const delay = Math.min(LONGEST_RETRY_MS, FIRST_RETRY_MS * 2 ** attempt) * (0.5 + Math.random() / 2);
      await new Promise<void>((wake) => (this.#sleep = { timer: setTimeout(wake, delay).unref(), wake }));
      this.#sleep = undefined;
    }
  }

  #setConnected(connected: boolean): void {
    if (connected === this.#connected) return;
    this.#connected = connected;
    this.onState(connected);
  }

  /** One connection, until it ends; true when it was open (the next retry starts from the first delay). */
  async #listen(): Promise<boolean> {
    const abort = new AbortController();
    this.#abort = abort;
    const response = await this.fetch(`${this.options.serverUrl}/revocations`, {
      headers: {
        authorization: basicAuthorization(this.options.clientId, this.options.clientSecret),
        accept: 'text/event-stream',
        ...(this.#lastEventId === undefined ? {} : { 'last-event-id': this.#lastEventId }),
      },
      signal: abort.signal,
    });
    if (response.status !== 200 || !response.body) {
      await response.body?.cancel();
      throw new Error(`the auth server answered the revocation stream with ${response.status}`);
    }
    this.#setConnected(true);
    let silence = setTimeout(() => abort.abort(), SILENCE_MS).unref();
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        clearTimeout(silence);
        silence = setTimeout(() => abort.abort(), SILENCE_MS).unref();
        buffer += decoder.decode(chunk, { stream: true }).replace(/\r\n?/g, '\n');
        for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          await this.#dispatch(block);
        }
      }
    } finally {
      clearTimeout(silence);
    }
    return true;
  }

  async #dispatch(block: string): Promise<void> {
    let id: string | undefined;
    let type: string | undefined;
    let data = '';
    for (const line of block.split('\n')) {
      const colon = line.indexOf(':');
      if (colon === 0) continue;
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'id') id = value;
      else if (field === 'event') type = value;
      else if (field === 'data') data += data ? `\n${value}` : value;
    }
    // An id alone (the stream's start) moves where a reconnection resumes, as in browsers.
    if (type === undefined) {
      if (id !== undefined) this.#lastEventId = id;
      return;
    }
    let details: Record<string, unknown> = {};
    try {
      details = data ? (JSON.parse(data) as Record<string, unknown>) : {};
    } catch {
      this.options.logger.warn('revocation stream sent an event that is not JSON', { type });
    }
    const text = (key: string) => (typeof details[key] === 'string' ? (details[key] as string) : null);
    await this.handle({ id, type, sub: text('sub'), grantId: text('grantId'), sid: text('sid'), jti: text('jti') });
    if (id !== undefined) this.#lastEventId = id;
  }
}
