// What the error page offers next, by where the person was when it happened: inside the console, back to the console;
// on the account page, back to it; with a set-password link, to sign in or to ask an admin for a new link; anywhere
// else (the sign-in pages an instance sends people to), back to the ChillFi3 server they came from.
import { SET_PASSWORD_PATH } from '../admin/account-operations.js';
import { ADMIN_CONSOLE_PREFIX } from './page.js';
import { HOME_PATH } from './web-session.js';

export interface WayOn {
  advice: string;
  link: { href: string; label: string } | null;
}

/** The server's own pages besides the console: the account page, first run at /, and their sign-in under /web/. */
const OWN_PAGES = [HOME_PATH, '/web'];

function under(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}/`);
}

/** The way on from an error met at `path` (a request that could be tried again has its own advice: see error.ejs). */
export function wayOnFrom(path: string): WayOn {
  if (under(path, ADMIN_CONSOLE_PREFIX)) {
    return { advice: 'Check the address, or find what you were looking for from the console.', link: { href: ADMIN_CONSOLE_PREFIX, label: 'Back to the console' } };
  }
  if (path === SET_PASSWORD_PATH) {
    return {
      advice: 'If you have set your password with this link already, sign in with it. If not, ask an admin of this server for a new link.',
      link: { href: HOME_PATH, label: 'Sign in' },
    };
  }
  if (path === '/' || OWN_PAGES.some((prefix) => under(path, prefix))) {
    return { advice: 'Open your account page and try again.', link: { href: HOME_PATH, label: 'Your account' } };
  }
  return { advice: 'Go back to the ChillFi3 server you came from and try signing in again.', link: null };
}
