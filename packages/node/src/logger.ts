/** One log method: pino-style `(object, message)` or `(message)`. */
export interface LogFn {
  (obj: object, msg?: string): void;
  (msg: string): void;
}

/** A structured logger (pino and compatible loggers fit). */
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

export function childLogger(logger: Logger, bindings: Record<string, unknown>): Logger {
  return logger.child?.(bindings) ?? logger;
}
