// The relay mail goes through: nodemailer's SMTP transport, configured from SMTP_URL and friends. STARTTLS is used
// whenever the relay offers it on smtp://; smtps:// speaks TLS from the start. Timeouts stay well inside the worker's
// lease, so a silent relay gives the mail back for a retry instead of holding it.
import nodemailer from 'nodemailer';
import type { MailConfig } from '../../config/index.js';
import { parseSender } from './mail-address.js';
import type { RenderedMail } from './mail-templates.js';

/** Sends one rendered mail to one address; rejects when the relay did not take it. */
export interface MailTransport {
  send(to: string, mail: RenderedMail): Promise<void>;
  close(): void;
}

const CONNECTION_TIMEOUT_MS = 10_000;
const SOCKET_TIMEOUT_MS = 20_000;

export function smtpTransport(config: MailConfig): MailTransport {
  const from = parseSender(config.from);
  if (!from) throw new Error('MAIL_FROM is not a valid sender');
  const transporter = nodemailer.createTransport({
    host: config.host,
    port: config.port,
    secure: config.secure,
    ...(config.auth ? { auth: { user: config.auth.user, pass: config.auth.pass } } : {}),
    tls: { rejectUnauthorized: config.rejectUnauthorized },
    connectionTimeout: CONNECTION_TIMEOUT_MS,
    greetingTimeout: CONNECTION_TIMEOUT_MS,
    socketTimeout: SOCKET_TIMEOUT_MS,
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  return {
    async send(to, mail) {
      // Structured fields only: nodemailer encodes the name and builds every header itself.
      await transporter.sendMail({ from: { name: from.name, address: from.address }, to: { name: '', address: to }, ...mail });
    },
    close: () => transporter.close(),
  };
}
