import { pino, type Logger, type LoggerOptions } from 'pino';
import { prettyLog, type LogStream } from './pretty-log.js';

/** JSON lines for machines, readable lines for a person at a terminal (src/pretty-log.ts). */
export type LogFormat = 'json' | 'pretty';

/** LOG_FORMAT: `auto` is pretty when the logs go to a terminal and JSON when they go to a file, a pipe or a collector. */
export function logFormatFor(setting: LogFormat | 'auto', stdout: { isTTY?: boolean }): LogFormat {
  if (setting !== 'auto') return setting;
  return stdout.isTTY === true ? 'pretty' : 'json';
}

/**
 * The server's logger, on stdout unless told otherwise. Secrets never reach it: known secret-bearing fields are
 * redacted as a second line of defence, in either format.
 */
export function createLogger(level: string, { format = 'json', stream }: { format?: LogFormat; stream?: LogStream } = {}): Logger {
  const options = loggerOptions(level);
  if (format === 'pretty') return pino(options, prettyLog(stream ?? process.stdout));
  return stream ? pino(options, stream) : pino(options);
}

function loggerOptions(level: string): LoggerOptions {
  return {
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
  };
}

export type { Logger };
