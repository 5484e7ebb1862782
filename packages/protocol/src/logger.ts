/**
 * One log method, as pino's: `(object, message)` or `(message)`. Errors go under `err`
 * (`logger.error({ err }, 'start failed')`), so pino's `err` serializer (type, message, code,
 * stack, cause) turns them into data.
 */
export interface LogFn {
  (obj: object, msg?: string): void;
  (msg: string): void;
}

/**
 * The structured logger every Systemge package takes: the shape of pino's `Logger` (a pino
 * logger fits as is). `child` is optional so a plain object of five functions fits too; a
 * logger without it gets no bindings.
 */
export interface Logger {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  child?(bindings: Record<string, unknown>): Logger;
}

const noop = (): void => {};

/** The default logger: says nothing. */
export const silentLogger: Logger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop };

/** `logger.child(bindings)`, or `logger` itself when it has no `child`. */
export function childLogger(logger: Logger, bindings: Record<string, unknown>): Logger {
  return logger.child?.(bindings) ?? logger;
}
