import type { Logger } from '@systemge/node';
import { pino } from 'pino';

/** Text results print as they are; data prints as indented JSON. */
export function formatResult(result: unknown): string {
  if (typeof result === 'string') return result;
  if (result === undefined || result === null) return '';
  return JSON.stringify(result, null, 2);
}

export const LOG_LEVELS = ['silent', 'error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['pretty', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

const COLORS: Record<string, string> = { error: '\u001b[31m', warn: '\u001b[33m', info: '\u001b[36m', debug: '\u001b[90m' };
const RESET = '\u001b[0m';

function fieldText(value: unknown): string {
  if (typeof value === 'string') return /\s|"/.test(value) ? JSON.stringify(value) : value;
  return JSON.stringify(value) ?? String(value);
}

/** One human-readable line: `13:41:40.548 WARN  a: cannot reach … endpoint=127.0.0.1:1 attempt=1`. */
export function prettyLine(level: string, time: Date, fields: Record<string, unknown>, color: boolean): string {
  const { msg, node, ...rest } = fields;
  const clock = time.toISOString().slice(11, 23);
  const tag = level.toUpperCase().padEnd(5);
  const who = typeof node === 'string' ? `${node}: ` : '';
  const extra = Object.entries(rest)
    // A value the message already says (an error text, an endpoint) is not repeated.
    .filter(([, v]) => v !== undefined && !(typeof v === 'string' && v.length >= 4 && String(msg ?? '').includes(v)))
    .map(([k, v]) => `${k}=${fieldText(v)}`)
    .join(' ');
  const head = color ? `${COLORS[level] ?? ''}${tag}${RESET}` : tag;
  return `${clock} ${head} ${who}${String(msg ?? '')}${extra === '' ? '' : `  ${color ? '\u001b[2m' : ''}${extra}${color ? RESET : ''}`}`;
}

/** How an `err` field reads on a pretty line: its message, and its code when it has one. */
function errText(err: unknown): unknown {
  if (typeof err !== 'object' || err === null || typeof (err as { message?: unknown }).message !== 'string') return err;
  const { message, code } = err as { message: string; code?: unknown };
  return typeof code === 'string' && !message.includes(code) ? `${message} (${code})` : message;
}

/** One pino JSON line as a readable line (see `prettyLine`). */
function prettyFromJSON(line: string, color: boolean): string {
  const { level, time, ...fields } = JSON.parse(line) as Record<string, unknown>;
  if (fields.err !== undefined) fields.err = errText(fields.err);
  return prettyLine(String(level), new Date(typeof time === 'string' || typeof time === 'number' ? time : Date.now()), fields, color);
}

/**
 * The logger of `systemge start`: a pino logger writing JSON lines (pino's shape, level as its
 * name, ISO time) or, for a person at a terminal, one readable line per entry. Errors under
 * `err` are serialized with pino's `errWithCause` serializer: type, message, code and the other
 * fields of the error, stack, and the cause likewise.
 */
export function cliLogger(
  level: LogLevel,
  format: LogFormat,
  write: (line: string) => void,
  options: { color?: boolean } = {},
  bindings: Record<string, unknown> = {},
): Logger {
  const color = options.color === true;
  const destination = {
    write(chunk: string): void {
      const line = chunk.endsWith('\n') ? chunk.slice(0, -1) : chunk;
      write(format === 'json' ? line : prettyFromJSON(line, color));
    },
  };
  const logger = pino(
    {
      level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: pino.stdSerializers.errWithCause },
    },
    destination,
  );
  return Object.keys(bindings).length === 0 ? logger : logger.child(bindings);
}
