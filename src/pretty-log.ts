// Log records as lines a person reads in a terminal (LOG_FORMAT=pretty, or auto on a terminal):
//   12:04:05.123 WARN  no admin yet: open the url ... url=http://localhost:3001/ setupToken=...
// A pino destination of its own rather than pino-pretty, which is not a dependency: formatting one record per line
// is all that is needed, and it runs in the process without a worker thread. It receives the JSON line pino has
// already serialized, so redaction (src/logger.ts) has been applied to everything it prints.
import { pino } from 'pino';

/** Where the lines go: the process's stdout, or a captured stream in tests. Colours only when it is a terminal. */
export interface LogStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

const LEVEL_COLOURS: Record<string, string> = { fatal: '35', error: '31', warn: '33', info: '32', debug: '36', trace: '90' };

/** Fields every record carries, shown in the line's own places or left out. */
const SHOWN_APART = new Set(['level', 'time', 'msg', 'service', 'err']);

/** A destination for pino(options, destination) that writes each record as one readable line. */
export function prettyLog(stream: LogStream): { write(line: string): void } {
  const colour = stream.isTTY === true;
  return {
    write(line: string) {
      stream.write(formatRecord(JSON.parse(line) as Record<string, unknown>, colour));
    },
  };
}

/** One record: time, level, message, then its fields as key=value, then an error's stack indented below. */
export function formatRecord(record: Record<string, unknown>, colour = false): string {
  const label = pino.levels.labels[Number(record.level)] ?? String(record.level);
  const levelText = label.toUpperCase().padEnd(5);
  const fields = Object.entries(record)
    .filter(([key]) => !SHOWN_APART.has(key))
    .map(([key, value]) => `${key}=${fieldValue(value)}`);
  const time = typeof record.time === 'number' ? new Date(record.time).toISOString().slice(11, 23) : '';
  const head = [time, colour ? `\x1b[${LEVEL_COLOURS[label] ?? '0'}m${levelText}\x1b[0m` : levelText, String(record.msg ?? ''), ...fields];
  return `${head.filter((part) => part !== '').join(' ')}${errorText(record.err)}\n`;
}

/** Plain words stay plain; anything with spaces, quotes or structure is JSON, so a line splits back unambiguously. */
function fieldValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
}

/** pino's serialized error: its stack (or type and message), indented under the line. */
function errorText(err: unknown): string {
  if (err === undefined || err === null) return '';
  const { stack, type, message } = err as { stack?: unknown; type?: unknown; message?: unknown };
  const text = typeof stack === 'string' ? stack : `${String(type ?? 'Error')}: ${String(message ?? '')}`;
  return `\n${text.replace(/^/gm, '    ')}`;
}
