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

/** A metric name (prefix included) is not a valid Prometheus name, or a counter name does not end in `_total`. */
export class InvalidMetricNameError extends MetricsError {
  static readonly code = 'SYSTEMGE_ERR_METRIC_INVALID_NAME';
  readonly metric: string;
  constructor(metric: string, reason: string) {
    super(InvalidMetricNameError.code, `invalid metric name ${JSON.stringify(metric)}: ${reason}`);
    this.metric = metric;
  }
}

/** A label name is not a valid Prometheus label name, is reserved, repeated, or clashes with a constant label. */
export class InvalidLabelError extends MetricsError {
  static readonly code = 'SYSTEMGE_ERR_METRIC_INVALID_LABEL';
  readonly metric: string;
  readonly label: string;
  constructor(metric: string, label: string, reason: string) {
    super(InvalidLabelError.code, `invalid label ${JSON.stringify(label)} on metric ${JSON.stringify(metric)}: ${reason}`);
    this.metric = metric;
    this.label = label;
  }
}

/** A metric with this name is already registered in the registry. */
export class DuplicateMetricError extends MetricsError {
  static readonly code = 'SYSTEMGE_ERR_METRIC_DUPLICATE';
  readonly metric: string;
  constructor(metric: string) {
    super(DuplicateMetricError.code, `metric ${JSON.stringify(metric)} is already registered`);
    this.metric = metric;
  }
}

/** `family.labels(...)` or `family.remove(...)` was called with a different number of values than the family has label names. */
export class LabelCountError extends MetricsError {
  static readonly code = 'SYSTEMGE_ERR_METRIC_LABEL_COUNT';
  readonly metric: string;
  readonly expected: number;
  readonly actual: number;
  constructor(metric: string, expected: number, actual: number) {
    super(LabelCountError.code, `metric ${JSON.stringify(metric)} takes ${expected} label values, got ${actual}`);
    this.metric = metric;
    this.expected = expected;
    this.actual = actual;
  }
}

/** Histogram buckets are empty, not finite, or not strictly increasing. */
export class InvalidBucketsError extends MetricsError {
  static readonly code = 'SYSTEMGE_ERR_METRIC_INVALID_BUCKETS';
  readonly metric: string;
  constructor(metric: string, reason: string) {
    super(InvalidBucketsError.code, `invalid buckets for metric ${JSON.stringify(metric)}: ${reason}`);
    this.metric = metric;
  }
}

/** A numeric option (`maxSeries`, `resolution`, bucket generator arguments, a quantile `q`) is out of range. */
export class InvalidMetricOptionError extends MetricsError {
  static readonly code = 'SYSTEMGE_ERR_METRIC_INVALID_OPTION';
  readonly option: string;
  constructor(option: string, value: unknown, requirement: string) {
    super(InvalidMetricOptionError.code, `option ${option} is ${String(value)}, must be ${requirement}`);
    this.option = option;
  }
}
