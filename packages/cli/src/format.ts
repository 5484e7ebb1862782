import type { Logger } from '@systemge/node';

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

/**
 * The logger of `systemge start`: JSON lines (one object per line, pino's shape) or, for a person
 * at a terminal, one readable line per entry.
 */
export function cliLogger(
  level: LogLevel,
  format: LogFormat,
  write: (line: string) => void,
  options: { color?: boolean } = {},
  bindings: Record<string, unknown> = {},
): Logger {
  const rank = LOG_LEVELS.indexOf(level);
  const at =
    (name: LogLevel) =>
    (obj: object | string, msg?: string): void => {
      if (LOG_LEVELS.indexOf(name) > rank || rank === 0) return;
      const fields = typeof obj === 'string' ? { ...bindings, msg: obj } : { ...bindings, ...obj, msg };
      const time = new Date();
      write(format === 'json' ? JSON.stringify({ level: name, time: time.toISOString(), ...fields }) : prettyLine(name, time, fields, options.color === true));
    };
  return {
    trace: () => {},
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (more) => cliLogger(level, format, write, options, { ...bindings, ...more }),
  };
}
