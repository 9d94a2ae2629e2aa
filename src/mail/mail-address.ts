// Which addresses mail goes to. Headers are built by nodemailer from structured fields (never from strings we join),
// and an address reaches it only after this check: one line of printable ASCII in the dot-atom form of RFC 5322
// (no quoted local parts, comments, display names or lists), a domain of LDH labels, at most 254 characters. An
// internationalised domain is taken in its ASCII (punycode) form; a non-ASCII local part is refused, as many relays
// cannot deliver it (SMTPUTF8). Hand-written because no kept library checks exactly this narrow, header-safe form.
import { domainToASCII } from 'node:url';

const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const DOMAIN_LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;
const MAX_ADDRESS = 254;
const MAX_LOCAL_PART = 64;

/** The address in the form mail is sent to, or null when mail cannot (or must not) go to it. */
export function mailableAddress(address: string | null | undefined): string | null {
  if (typeof address !== 'string' || address.length > MAX_ADDRESS) return null;
  const at = address.lastIndexOf('@');
  if (at <= 0) return null;
  const local = address.slice(0, at);
  const domain = domainToASCII(address.slice(at + 1));
  if (local.length > MAX_LOCAL_PART || !LOCAL_PART.test(local) || !domain) return null;
  const labels = domain.split('.');
  if (labels.length < 2 || !labels.every((label) => DOMAIN_LABEL.test(label))) return null;
  const mailable = `${local}@${domain.toLowerCase()}`;
  return mailable.length <= MAX_ADDRESS ? mailable : null;
}

/** A sender as MAIL_FROM gives it: `address` or `Name <address>`, the name one line without angle brackets or quotes. */
export function parseSender(from: string): { name: string; address: string } | null {
  const named = /^([^<>"\r\n]*)<([^<>\s]+)>$/.exec(from.trim());
  const address = mailableAddress(named ? named[2] : from.trim());
  if (!address) return null;
  return { name: named ? named[1]!.trim() : '', address };
}
