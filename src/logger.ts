import { pino, type Logger } from 'pino';

/** The server's logger. Secrets never reach it: known secret-bearing fields are redacted as a second line of defence. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'chillfi3-auth' },
    redact: {
      paths: [
        'password',
        '*.password',
        'client_secret',
        '*.client_secret',
        'clientSecret',
        '*.clientSecret',
        'req.headers.authorization',
        'req.headers.cookie',
        'res.headers["set-cookie"]',
      ],
      censor: '[redacted]',
    },
  });
}

export type { Logger };
