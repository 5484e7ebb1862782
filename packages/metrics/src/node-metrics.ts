import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import {
  EventLoopProbe,
  NODE_METRICS,
  NODE_TOPIC_METRICS,
  type NodeStats,
  type PluginMetric,
  type SystemgeNode,
  type TopicMap,
} from '@systemge/node';
import { DuplicateMetricError, InvalidMetricOptionError } from './errors.js';
import { PROCESS_GAUGES, tableMetrics } from './metric-table.js';
import { NodeHistogram } from './node-histogram.js';

/** Process figures of the process a node runs in (a remote node's `NodeDescription.process`). */
export interface NodeProcessReading {
  readonly heapUsedBytes: number;
  readonly heapTotalBytes: number;
  readonly rssBytes: number;
  /** Event-loop lag since the previous reading, ms. */
  readonly eventLoopLagMs: { readonly p50: number; readonly p99: number; readonly max: number };
}

/** Everything known about one node at a scrape. A `NodeDescription` of `@systemge/node` fits it. */
export interface NodeReading {
  readonly stats: NodeStats;
  /** Labelled samples of the node's plugins, by plugin name. */
  readonly pluginMetrics?: Readonly<Record<string, readonly PluginMetric[]>> | undefined;
  readonly process?: NodeProcessReading | undefined;
}

/** Options of `nodeMetrics`. */
export interface NodeMetricsOptions {
  /** The prom-client registry to register into. Default: a new `Registry`. */
  registry?: Registry;
  /** Prefix of every metric name. Default `systemge_`. */
  prefix?: string;
  /**
   * Also register prom-client's default process metrics (`collectDefaultMetrics`) on the registry.
   * Default false: an application that already collects them keeps doing so.
   */
  defaultMetrics?: boolean;
  /**
   * Event-loop lag (p50/p99/max since the previous scrape), V8 heap and RSS per node
   * (`<prefix>process_*`). Default true.
   */
  processMetrics?: boolean;
}

/** What `nodeMetrics` returns. */
export interface NodeMetrics {
  /** The registry the metrics are in (the one given, or the one created). */
  readonly registry: Registry;
  /** Collects another node; its name is the `node` label. */
  add<T extends TopicMap>(node: SystemgeNode<T>): void;
  /**
   * Collects a node read through `read()` at each scrape, e.g. a node in another process known
   * by its latest description. `undefined` leaves the node out of that scrape.
   */
  addReader(name: string, read: () => NodeReading | undefined): void;
  /** Stops collecting a node; its series disappear from the next scrape. False when unknown. */
  remove(name: string): boolean;
  /** Names of the collected nodes. */
  nodes(): string[];
  /** Removes every metric `nodeMetrics` registered and stops the event-loop probe. Idempotent. */
  stop(): void;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Label names the collector sets itself; a plugin sample may not use them. */
const RESERVED_LABELS: ReadonlySet<string> = new Set(['node', 'plugin', 'le', 'quantile']);

/** One registered plugin metric. */
interface PluginFamily {
  readonly metric: Counter<string> | Gauge<string>;
  readonly type: 'counter' | 'gauge';
  readonly labelNames: readonly string[];
}

/**
 * Registers the metrics of Systemge nodes in a prom-client registry: every entry of
 * `NODE_METRICS` (with a `node` label), messages by topic, the sync latency histogram, the
 * plugins' labelled samples (`<prefix><sample name>` with `node` and `plugin` labels) and,
 * unless `processMetrics: false`, event-loop lag and memory per node. Values are read from the
 * nodes when the registry is scraped (collect callbacks): counting messages costs nothing more.
 *
 * Throws `SYSTEMGE_ERR_METRIC_DUPLICATE` when the registry already has one of these names.
 */
export function nodeMetrics<T extends TopicMap>(
  nodes: SystemgeNode<T> | readonly SystemgeNode<T>[] = [],
  options: NodeMetricsOptions = {},
): NodeMetrics {
  const prefix = options.prefix ?? 'systemge_';
  if (typeof prefix !== 'string' || (prefix !== '' && !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix))) {
    throw new InvalidMetricOptionError('prefix', prefix, 'empty or a valid Prometheus name start ([a-zA-Z_:][a-zA-Z0-9_:]*)');
  }
  const registry = options.registry ?? new Registry();
  const readers = new Map<string, () => NodeReading | undefined>();
  const registered: string[] = [];
  const processMetrics = options.processMetrics !== false;
  // Created at the first local node: readers bring their own process figures.
  let probe: EventLoopProbe | undefined;
  let localProcess: NodeProcessReading | undefined;

  // One reading per node per scrape: prom-client calls every collect of a scrape in one
  // synchronous pass, so the cache is dropped at the next microtask.
  let cache: Map<string, NodeReading> | undefined;
  const readings = (): Map<string, NodeReading> => {
    if (cache !== undefined) return cache;
    const fresh = new Map<string, NodeReading>();
    cache = fresh;
    localProcess = undefined;
    queueMicrotask(() => {
      cache = undefined;
    });
    for (const [name, read] of readers) {
      try {
        const reading = read();
        if (reading !== undefined) fresh.set(name, reading);
      } catch {
        // A node that cannot be read now is left out of this scrape.
      }
    }
    discoverPlugins(fresh);
    return fresh;
  };
  const processOfLocal = (): NodeProcessReading | undefined => {
    if (!processMetrics) return undefined;
    probe ??= new EventLoopProbe();
    localProcess ??= probe.read();
    return localProcess;
  };

  const register = <M>(create: () => M, name: string): M => {
    if (registry.getSingleMetric(name) !== undefined) throw new DuplicateMetricError(name, 'metric');
    const metric = create();
    registered.push(name);
    return metric;
  };

  try {
    for (const table of tableMetrics()) {
      const name = prefix + table.name;
      const fields = table.fields;
      if (table.type === 'counter') {
        register(
          () =>
            new Counter<string>({
              name,
              help: table.help,
              labelNames: table.labelNames,
              registers: [registry],
              collect() {
                this.reset();
                for (const [node, r] of readings()) for (const f of fields) this.inc({ node, ...f.labels }, r.stats[f.key] ?? 0);
              },
            }),
          name,
        );
      } else {
        register(
          () =>
            new Gauge<string>({
              name,
              help: table.help,
              labelNames: table.labelNames,
              registers: [registry],
              collect() {
                this.reset();
                for (const [node, r] of readings()) for (const f of fields) this.set({ node, ...f.labels }, r.stats[f.key] ?? 0);
              },
            }),
          name,
        );
      }
    }

    const latency = NODE_METRICS.syncLatency;
    register(
      () =>
        new NodeHistogram(
          prefix + latency.metric,
          latency.help,
          latency.buckets,
          function* () {
            for (const [node, r] of readings())
              yield [node, r.stats.syncLatencyBuckets, r.stats.syncLatencySumMs, r.stats.syncLatencyCount] as const;
          },
          registry,
        ),
      prefix + latency.metric,
    );

    for (const side of ['received', 'sent'] as const) {
      const spec = NODE_TOPIC_METRICS[side];
      const name = prefix + spec.metric;
      register(
        () =>
          new Counter<string>({
            name,
            help: spec.help,
            labelNames: ['node', 'topic'],
            registers: [registry],
            collect() {
              this.reset();
              for (const [node, r] of readings()) {
                for (const [topic, counts] of Object.entries(r.stats.topics ?? {})) this.inc({ node, topic }, counts[side]);
              }
            },
          }),
        name,
      );
    }

    if (processMetrics) {
      for (const [metric, help, value] of PROCESS_GAUGES) {
        const name = prefix + metric;
        register(
          () =>
            new Gauge<string>({
              name,
              help,
              labelNames: ['node'],
              registers: [registry],
              collect() {
                this.reset();
                for (const [node, r] of readings()) if (r.process !== undefined) this.set({ node }, value(r.process));
              },
            }),
          name,
        );
      }
    }

    if (options.defaultMetrics === true) collectDefaultMetrics({ register: registry });
  } catch (error) {
    for (const name of registered) registry.removeSingleMetric(name);
    probe?.stop();
    throw error;
  }

  // Plugin metrics are known only once a plugin reports them: a name first seen at a scrape is
  // registered then and is exposed from the next scrape on (nodes given up front are read at once).
  const pluginFamilies = new Map<string, PluginFamily | null>();
  function discoverPlugins(current: Map<string, NodeReading>): void {
    for (const reading of current.values()) {
      for (const samples of Object.values(reading.pluginMetrics ?? {})) {
        for (const sample of samples) {
          if (pluginFamilies.has(sample.name)) continue;
          pluginFamilies.set(sample.name, pluginFamily(sample));
        }
      }
    }
  }
  function pluginFamily(sample: PluginMetric): PluginFamily | null {
    const name = prefix + sample.name;
    const labelNames = Object.keys(sample.labels ?? {});
    const valid =
      METRIC_NAME.test(name) &&
      (sample.type === 'counter' || sample.type === 'gauge') &&
      labelNames.every((l) => LABEL_NAME.test(l) && !RESERVED_LABELS.has(l) && !l.startsWith('__'));
    if (!valid || registry.getSingleMetric(name) !== undefined) return null;
    const type = sample.type;
    const all = ['node', 'plugin', ...labelNames];
    const samplesOf = function* (): Generator<[Record<string, string>, number]> {
      for (const [node, r] of readings()) {
        for (const [plugin, samples] of Object.entries(r.pluginMetrics ?? {})) {
          for (const s of samples) {
            if (s.name !== sample.name || s.type !== type || !Number.isFinite(s.value)) continue;
            const labels = s.labels ?? {};
            const keys = Object.keys(labels);
            if (keys.length !== labelNames.length || !keys.every((k) => labelNames.includes(k))) continue;
            yield [{ ...labels, node, plugin }, s.value];
          }
        }
      }
    };
    const config = { name, help: sample.help || sample.name, labelNames: all, registers: [registry] };
    const metric =
      type === 'counter'
        ? new Counter<string>({
            ...config,
            collect() {
              this.reset();
              for (const [labels, value] of samplesOf()) if (value >= 0) this.inc(labels, value);
            },
          })
        : new Gauge<string>({
            ...config,
            collect() {
              this.reset();
              for (const [labels, value] of samplesOf()) this.set(labels, value);
            },
          });
    registered.push(name);
    return { metric, type, labelNames };
  }

  const add = (name: string, read: () => NodeReading | undefined): void => {
    if (readers.has(name)) throw new DuplicateMetricError(name, 'node');
    readers.set(name, read);
    // Plugin metrics this node already reports are registered now, so the first scrape has them.
    try {
      const reading = read();
      if (reading !== undefined) discoverPlugins(new Map([[name, reading]]));
    } catch {
      // Read again at the first scrape.
    }
  };

  let stopped = false;
  const handle: NodeMetrics = {
    registry,
    add(node) {
      if (processMetrics) probe ??= new EventLoopProbe();
      add(node.name, () => ({ stats: node.stats, pluginMetrics: node.pluginMetrics(), process: processOfLocal() }));
    },
    addReader: add,
    remove(name) {
      return readers.delete(name);
    },
    nodes() {
      return [...readers.keys()];
    },
    stop() {
      if (stopped) return;
      stopped = true;
      readers.clear();
      for (const name of registered) registry.removeSingleMetric(name);
      probe?.stop();
    },
  };
  for (const node of Array.isArray(nodes) ? nodes : [nodes as SystemgeNode<T>]) handle.add(node);
  return handle;
}
