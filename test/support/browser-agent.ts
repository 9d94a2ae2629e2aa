import { CookieJar } from 'tough-cookie';

export interface Page {
  url: string;
  status: number;
  body: string;
}

/**
 * A scriptable user agent for protocol tests: keeps cookies like a browser (paths, expiry), follows redirects,
 * and submits forms. The real browser is exercised by the Chromium tests; this one lets every flow run fast.
 */
export class BrowserAgent {
  readonly jar = new CookieJar();

  /** `headers` go with every request (for example an X-Forwarded-For a test speaks through). */
  constructor(private readonly headers: Record<string, string> = {}) {}

  /** Requests `url` and follows redirects until a page is returned or `stopAt` matches the next location. */
  async open(url: string, init: { method?: string; form?: Record<string, string> } = {}, stopAt?: string): Promise<Page> {
    let current = url;
    let method = init.method ?? (init.form ? 'POST' : 'GET');
    let body: string | undefined = init.form ? new URLSearchParams(init.form).toString() : undefined;
    for (let hops = 0; hops < 20; hops++) {
      if (stopAt && current.startsWith(stopAt)) return { url: current, status: 0, body: '' };
      const headers: Record<string, string> = { ...this.headers, cookie: await this.jar.getCookieString(current), accept: 'text/html' };
      if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
      const response = await fetch(current, { method, headers, body, redirect: 'manual' });
      for (const cookie of response.headers.getSetCookie()) await this.jar.setCookie(cookie, current, { ignoreError: true });
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location) {
        current = new URL(location, current).toString();
        method = 'GET';
        body = undefined;
        continue;
      }
      return { url: current, status: response.status, body: await response.text() };
    }
    throw new Error(`too many redirects from ${url}`);
  }

  /** Submits the sign-in form of the login page `page`. */
  signIn(page: Page, username: string, password: string, stopAt?: string): Promise<Page> {
    return this.open(new URL(formAction(page.body), page.url).toString(), { form: { username, password } }, stopAt);
  }
}

/** The action of the first form on a page. */
export function formAction(html: string): string {
  const match = /<form[^>]*action="([^"]+)"/.exec(html);
  if (!match?.[1]) throw new Error(`no form on the page: ${html.replace(/<svg[\s\S]*<\/svg>/, "").replace(/<head>[\s\S]*<\/head>/, "").replace(/\s+/g, " ").slice(0, 600)}`);
  return match[1].replace(/&amp;/g, '&');
}

/** The hidden inputs of the forms on a page. */
export function hiddenInputs(html: string): Record<string, string> {
  const inputs: Record<string, string> = {};
  for (const match of html.matchAll(/<input[^>]*type="hidden"[^>]*>/g)) {
    const name = /name="([^"]+)"/.exec(match[0])?.[1];
    const value = /value="([^"]*)"/.exec(match[0])?.[1];
    if (name) inputs[name] = (value ?? '').replace(/&amp;/g, '&');
  }
  return inputs;
}
