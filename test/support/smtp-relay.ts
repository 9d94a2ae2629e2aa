// A real SMTP server on loopback (smtp-server) that the mail tests point SMTP_URL at and read (mailparser): every
// mail it takes is parsed and kept, with its envelope. It can stop and start again on the same port, as a relay that
// goes down and comes back; while down, nothing listens there and connections are refused.
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { freePort } from './free-port.js';

export interface ReceivedMail {
  /** The envelope's recipients (RCPT TO), as the relay was asked. */
  rcptTo: string[];
  mailFrom: string;
  parsed: ParsedMail;
  /** The raw message, headers and all. */
  raw: string;
}

export interface SmtpRelay {
  port: number;
  url: string;
  received: ReceivedMail[];
  /** Resolves with the first mail (already received or still to come) that `matches`; fails after `timeoutMs`. */
  next(matches?: (mail: ReceivedMail) => boolean, timeoutMs?: number): Promise<ReceivedMail>;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** While true, every connection is answered 421 (service not available): a relay that is up but refuses. */
  refusing: boolean;
  /** Resolves once `count` connections in all were refused. */
  refused(count: number, timeoutMs?: number): Promise<void>;
}

/** The first link on the issuer in a mail's text part. */
export function linkIn(mail: ReceivedMail, issuer: string): string {
  const found = new RegExp(`${issuer.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/[^\\s]+`).exec(mail.parsed.text ?? '');
  if (!found) throw new Error(`no link on ${issuer} in the mail: ${mail.parsed.text}`);
  return found[0];
}

export async function startSmtpRelay(): Promise<SmtpRelay> {
  const port = await freePort();
  const received: ReceivedMail[] = [];
  const waiters = new Set<{ matches: (mail: ReceivedMail) => boolean; resolve: (mail: ReceivedMail) => void }>();
  let server: SMTPServer | undefined;
  let refusals = 0;
  const refusalWaiters = new Set<{ count: number; resolve: () => void }>();

  function make(): SMTPServer {
    return new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onConnect(_session, callback) {
        if (!relay.refusing) return callback();
        refusals++;
        for (const waiter of refusalWaiters) {
          if (refusals >= waiter.count) {
            refusalWaiters.delete(waiter);
            waiter.resolve();
          }
        }
        callback(Object.assign(new Error('try again later'), { responseCode: 421 }));
      },
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          simpleParser(raw)
            .then((parsed) => {
              const mail = {
                rcptTo: session.envelope.rcptTo.map((to) => to.address),
                mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
                parsed,
                raw,
              };
              received.push(mail);
              for (const waiter of waiters) {
                if (waiter.matches(mail)) {
                  waiters.delete(waiter);
                  waiter.resolve(mail);
                }
              }
              callback();
            })
            .catch(callback);
        });
      },
    });
  }

  const relay: SmtpRelay = {
    port,
    url: `smtp://127.0.0.1:${port}`,
    received,
    refusing: false,
    refused(count, timeoutMs = 15_000) {
      if (refusals >= count) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const waiter = { count, resolve };
        refusalWaiters.add(waiter);
        setTimeout(() => {
          if (refusalWaiters.delete(waiter)) reject(new Error(`not ${count} refusals within ${timeoutMs} ms (${refusals})`));
        }, timeoutMs).unref();
      });
    },
    next(matches = () => true, timeoutMs = 15_000) {
      const already = received.find(matches);
      if (already) return Promise.resolve(already);
      return new Promise((resolve, reject) => {
        const waiter = { matches, resolve };
        waiters.add(waiter);
        setTimeout(() => {
          if (waiters.delete(waiter)) reject(new Error(`no such mail within ${timeoutMs} ms (${received.length} received)`));
        }, timeoutMs).unref();
      });
    },
    async start() {
      if (server) return;
      const starting = make();
      await new Promise<void>((resolve, reject) => {
        starting.once('error', reject);
        starting.listen(port, '127.0.0.1', () => resolve());
      });
      if ((starting.server.address() as AddressInfo).port !== port) throw new Error('the relay did not get its port');
      server = starting;
    },
    async stop() {
      const closing = server;
      server = undefined;
      if (closing) await new Promise<void>((resolve) => closing.close(() => resolve()));
    },
  };
  await relay.start();
  return relay;
}
