import type { CommandHandler, NodePlugin, PluginContext, PluginMetric, TopicMap } from '../components.js';
import type { Logger } from '../logger.js';
import { NodeStatusError } from '../errors.js';

/**
 * The node's plugins (HTTP, WebSocket, dashboard...): unique names, started in order after the
 * node's own networking, stopped in reverse; their commands, stats and descriptions.
 */
export class PluginHost<T extends TopicMap> {
  private readonly plugins: readonly NodePlugin<T>[];
  private readonly logger: Logger;
  private started: NodePlugin<T>[] = [];

  constructor(plugins: readonly NodePlugin<T>[], logger: Logger) {
    this.plugins = plugins;
    this.logger = logger;
    const names = new Set<string>();
    for (const plugin of plugins) {
      if (names.has(plugin.name)) throw new NodeStatusError(`two plugins are named "${plugin.name}"`);
      names.add(plugin.name);
    }
  }

  /** Every plugin's command handlers, in plugin order. */
  *commandHandlers(): Generator<[string, CommandHandler]> {
    for (const plugin of this.plugins) yield* Object.entries(plugin.getCommandHandlers?.() ?? {});
  }

  /** Starts the plugins in order; the ones started are remembered for `stopAll`, even when one fails. */
  async startAll(context: PluginContext<T>): Promise<void> {
    for (const plugin of this.plugins) {
      await plugin.start(context);
      this.started.push(plugin);
    }
  }

  /** Stops the started plugins in reverse order; a failing stop is logged and the others still stop. */
  async stopAll(context: PluginContext<T>): Promise<void> {
    for (const plugin of this.started.reverse()) {
      try {
        await plugin.stop(context);
      } catch (error) {
        this.logger.error({ err: error, plugin: plugin.name }, 'plugin stop failed');
      }
    }
    this.started = [];
  }

  /** Counters of the plugins, by plugin name. */
  stats(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const plugin of this.plugins) {
      const stats = plugin.getStats?.();
      if (stats !== undefined) out[plugin.name] = stats;
    }
    return out;
  }

  /** Labelled samples of the plugins (`NodePlugin.getMetrics()`), by plugin name. */
  metrics(): Record<string, PluginMetric[]> {
    // A null prototype: a plugin named `__proto__` is a key like any other.
    const out = Object.create(null) as Record<string, PluginMetric[]>;
    for (const plugin of this.plugins) {
      const samples = plugin.getMetrics?.();
      if (samples !== undefined) out[plugin.name] = samples;
    }
    return out;
  }

  /** Descriptions of the plugins, by plugin name. */
  describe(): Record<string, unknown> {
    const plugins: Record<string, unknown> = {};
    for (const plugin of this.plugins) plugins[plugin.name] = plugin.describe?.() ?? {};
    return plugins;
  }
}
