// Renders the browser pages: views/<name>.ejs inside views/layout.ejs.
// Templates run in EJS strict mode (no `with`), read their data as `locals.x`, and escape every interpolation
// (<%= %>); the one raw insertion is the logout page's `form`, HTML built by oidc-provider itself.

import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import ejs from 'ejs';
import { projectRoot } from '../project-root.js';
import type { WayOn } from '../web/error-way-on.js';

export type ViewName = 'login' | 'consent' | 'logout' | 'logged-out' | 'error' | 'set-password' | 'forgot-password' | 'verify-email' | 'second-factor' | 'mfa-enrol' | 'mfa-done';

/** The data each page reads. `title` is the page's own title; the layout appends the product name. */
export interface ViewLocals {
  login: {
    title: string;
    uid: string;
    clientName: string;
    username?: string;
    error?: string;
    action: string;
    abortUrl: string;
    /** "Forgot your password?" (src/web/forgot-password-routes.ts), back to this sign-in. */
    forgotUrl: string;
    /** Passkey-first sign-in: where the page's script gets its options and posts the answer; unset without passkeys. */
    passkey?: { optionsUrl: string; action: string };
  };
  consent: {
    title: string;
    uid: string;
    clientName: string;
    username: string;
    scopes: { name: string; description: string }[];
    action: string;
    abortUrl: string;
  };
  /** `form` is oidc-provider's `<form id="op.logoutForm" ...>` and is inserted unescaped. */
  logout: { title: string; clientName?: string; form: string };
  /** `signInUrl`: the server's own pages signed out, with a way back in (src/web/sign-in-routes.ts). */
  'logged-out': { title: string; clientName?: string; signInUrl?: string };
  /** `wayOn`: what to do next, by where the person was (src/web/error-way-on.ts). */
  error: { title: string; status: number; error: string; description?: string; wayOn: WayOn };
  'set-password': {
    title: string;
    username: string;
    done?: boolean;
    /** When done: the account page, where its owner signs in. */
    accountUrl?: string;
    token?: string;
    action?: string;
    error?: string;
    minLength?: number;
    maxLength?: number;
  };
  /** "Forgot your password?" (src/web/forgot-password-routes.ts): the form, or what happens next. */
  'forgot-password': { title: string; action: string; mailOn: boolean; maxLength: number; backUrl?: string; identifier?: string; sent?: boolean };
  /** An address-verification link (src/web/verify-email-routes.ts): confirm, or confirmed. */
  'verify-email': { title: string; action: string; username: string; email: string; token?: string; done?: boolean; accountUrl: string };
  /** Each form: a factor kind's views/factors/<kind>.ejs with its challenge's `locals` (src/mfa/factor-kind.ts). */
  'second-factor': {
    title: string;
    clientName: string;
    username: string;
    forms: { kind: string; label: string; primary: boolean; action: string; locals: Record<string, unknown> }[];
    error?: string;
    abortUrl: string;
  };
  'mfa-enrol': {
    title: string;
    clientName: string;
    username: string;
    qrCode: string;
    secret: string;
    sealed: string;
    action: string;
    abortUrl: string;
    error?: string;
  };
  /** After the second step: the new recovery codes (shown once), or how many are left after one was used. */
  'mfa-done': { title: string; clientName: string; recoveryCodes?: string[]; remaining?: number; action: string };
}

const defaultTitles: Record<ViewName, string> = {
  login: 'Sign in',
  consent: 'Allow access',
  logout: 'Sign out',
  'logged-out': 'Signed out',
  error: 'Something went wrong',
  'set-password': 'Set your password',
  'forgot-password': 'Forgot your password?',
  'verify-email': 'Confirm your e-mail address',
  'second-factor': 'Second step',
  'mfa-enrol': 'Set up an authenticator app',
  'mfa-done': 'Signed in',
};

/** Absolute path of the views folder. */
export const viewsDir = join(projectRoot, 'views');

/** Absolute path of the files served under /assets/ (the stylesheet every page links, the scripts a page may add). */
export const publicDir = join(projectRoot, 'public');

/**
 * Absolute path of @simplewebauthn/browser's bundle (it defines the global SimpleWebAuthnBrowser), served as this
 * server's own asset: the pages load no script from anywhere else. Found through the package's entry point, wherever
 * npm placed it.
 */
export const webAuthnBrowserBundle = join(dirname(createRequire(import.meta.url).resolve('@simplewebauthn/browser')), '..', 'dist', 'bundle', 'index.umd.min.js');

/** Absolute path of the stylesheet every page links as /assets/style.css. */
export const stylesheetPath = join(publicDir, 'style.css');

const renderOptions: ejs.Options = { cache: true, strict: true, localsName: 'locals' };

/** Renders one template under views/ (a path such as `web/account.ejs`), in strict mode, escaping as above. */
export function renderTemplate(file: string, data: Record<string, unknown>): Promise<string> {
  // `filename` keys the compiled-template cache; renderFile sets it from the path.
  return ejs.renderFile(join(viewsDir, file), data, renderOptions);
}

/** Renders views/<name>.ejs inside views/layout.ejs; every interpolation escaped except `form` on the logout page. */
export async function renderView(name: ViewName, locals: Record<string, unknown>): Promise<string> {
  const data = { ...locals, title: typeof locals.title === 'string' && locals.title ? locals.title : defaultTitles[name] };
  const body = await renderTemplate(`${name}.ejs`, data);
  return renderTemplate('layout.ejs', { title: data.title, view: name, body });
}
