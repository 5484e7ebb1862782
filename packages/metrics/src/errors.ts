/** Options accepted by every metrics error constructor. */
export interface MetricsErrorOptions {
  cause?: unknown;
}

/**
 * Base class of every error thrown by `@systemge/metrics`.
 * Compare errors by `code`, not with `instanceof`: two copies of the package
 * in one process have two different classes but the same codes.
 */
export class MetricsError extends Error {
  /** Stable machine-readable code, e.g. `SYSTEMGE_ERR_METRIC_DUPLICATE`. */
  readonly code: string;

  constructor(code: string, message: string, options?: MetricsErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = new.target.name;
  }
}

/**
 * A name is taken: the registry already has a metric `nodeMetrics` would register (for instance
 * `nodeMetrics` ran twice on one registry with the same prefix), or a node of this name is already collected.
 */
export class DuplicateMetricError extends MetricsError {
  static readonly code = 'SYSTEMGE_ERR_METRIC_DUPLICATE';
  /** The metric or node name. */
  readonly metric: string;
  constructor(metric: string, what: 'metric' | 'node', options?: MetricsErrorOptions) {
    super(
      DuplicateMetricError.code,
      what === 'metric'
        ? `metric ${JSON.stringify(metric)} is already registered in this registry: use another prefix or registry`
        : `node ${JSON.stringify(metric)} is already collected by these metrics`,
      options,
    );
    this.metric = metric;
  }
}

/** An option of `nodeMetrics` is out of range or malformed (`prefix`, `eventLoopResolutionMs`). */
export class InvalidMetricOptionError extends MetricsError {
  static readonly code = 'SYSTEMGE_ERR_METRIC_INVALID_OPTION';
  readonly option: string;
  constructor(option: string, value: unknown, requirement: string) {
    super(InvalidMetricOptionError.code, `option ${option} is ${JSON.stringify(value) ?? String(value)}, must be ${requirement}`);
    this.option = option;
  }
}
