import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createDashboard, type Dashboard } from '@systemge/dashboard';
import { httpComponent, type HTTPComponent } from '@systemge/http';
import {
  type Application,
  createNode,
  type Discovery,
  type Logger,
  type NodeConfig,
  type NodePlugin,
  remoteCommands,
  silentLogger,
  type SystemgeNode,
} from '@systemge/node';
import { connectDashboard, type DashboardLink } from '@systemge/dashboard-link';
import { websocketComponent, type WebSocketComponent } from '@systemge/websocket';
import type { LoadedConfig, NodeFileConfig } from './config-file.js';
import { ConfigFileError } from './errors.js';
import {
  dashboardOptionsFor,
  discoveryFor,
  discoveryPolicy,
  httpOptionsFor,
  linkTransportConfig,
  transportFor,
  websocketOptionsFor,
} from './system-parts.js';

/** What an application factory gets: its node's name and options, and the node's faces. */
export interface ApplicationContext {
  name: string;
  /** The node's `options` from the configuration file. */
  options: Record<string, unknown>;
  /** The node's HTTP component, when configured. */
  http: HTTPComponent | undefined;
  /** The node's WebSocket component, when configured. */
  websocket: WebSocketComponent | undefined;
  logger: Logger;
}

/** The default export of an application module: the application, or a (possibly async) factory of it. */
export type ApplicationModule = Application | ((context: ApplicationContext) => Application | Promise<Application>);

/** One running node with its faces. */
export interface RunningNode {
  node: SystemgeNode;
  http: HTTPComponent | undefined;
  websocket: WebSocketComponent | undefined;
  link: DashboardLink | undefined;
  /** The membership source of the node's `discovery` entry, when it has one. */
  discovery: Discovery | undefined;
}

/** The nodes (and dashboard) of one configuration file, in this process. */
export interface RunningSystem {
  nodes: RunningNode[];
  dashboard: Dashboard | undefined;
  /** Stops the dashboard, links and nodes. */
  stop(): Promise<void>;
}

async function loadApplication(
  loaded: LoadedConfig,
  index: number,
  spec: NodeFileConfig,
  context: ApplicationContext,
): Promise<Application> {
  if (spec.application === undefined) return {};
  const url = pathToFileURL(resolve(loaded.dir, spec.application)).href;
  let module: { default?: ApplicationModule };
  try {
    module = (await import(url)) as { default?: ApplicationModule };
  } catch (cause) {
    throw new ConfigFileError(loaded.file, `nodes[${index}].application`, `cannot load ${url}: ${(cause as Error).message}`);
  }
  const exported = module.default;
  if (exported === undefined) {
    throw new ConfigFileError(loaded.file, `nodes[${index}].application`, 'the module has no default export');
  }
  const app = typeof exported === 'function' ? await exported(context) : exported;
  if (typeof app !== 'object' || app === null) {
    throw new ConfigFileError(loaded.file, `nodes[${index}].application`, 'the default export must be an object or return one');
  }
  return app;
}

/** Builds every node of the file (not started). */
async function build(loaded: LoadedConfig, logger: Logger): Promise<RunningNode[]> {
  const out: RunningNode[] = [];
  for (const [index, spec] of loaded.config.nodes.entries()) {
    const {
      application: _a,
      options,
      transport,
      http: httpSpec,
      websocket: wsSpec,
      dashboard: _d,
      commands,
      discovery: discoverySpec,
      ...nodeFields
    } = spec;
    const nodeLogger = logger.child?.({ node: spec.name }) ?? logger;
    const http = httpSpec === undefined ? undefined : httpComponent(httpOptionsFor(httpSpec, loaded.dir));
    const websocket = wsSpec === undefined ? undefined : websocketComponent(websocketOptionsFor(wsSpec, loaded.dir, http));
    const application = await loadApplication(loaded, index, spec, {
      name: spec.name,
      options: options ?? {},
      http,
      websocket,
      logger: nodeLogger,
    });
    const plugins: NodePlugin[] = [];
    if (http !== undefined) plugins.push(http as NodePlugin);
    if (websocket !== undefined) plugins.push(websocket as NodePlugin);
    if (commands?.remote === true) {
      plugins.push(
        remoteCommands({ peers: commands.peers, commands: commands.allow, allowUnauthenticated: commands.allowUnauthenticated }),
      );
    }
    const config: NodeConfig = {
      ...(nodeFields as Omit<NodeConfig, 'transport'>),
      ...(discoverySpec === undefined ? {} : { discovery: discoveryPolicy(discoverySpec) }),
      transport: transportFor(transport, loaded.dir, nodeLogger),
    };
    const discovery = discoveryFor(discoverySpec, loaded.dir, nodeLogger);
    const node = createNode(config, application, { logger, plugins, discovery });
    out.push({ node, http, websocket, link: undefined, discovery: discovery?.source });
  }
  return out;
}

/** Registers a started node with the remote dashboard its entry names, if any. */
async function linkToDashboard(loaded: LoadedConfig, index: number, running: RunningNode, logger: Logger): Promise<void> {
  const spec = loaded.config.nodes[index]!;
  const link = spec.dashboard;
  if (link === undefined) return;
  running.link = await connectDashboard(running.node, {
    host: link.host,
    port: link.port,
    token: link.token,
    serverName: link.serverName,
    allowInsecure: link.allowInsecure,
    transport: transportFor(linkTransportConfig(spec), loaded.dir, logger),
    logger,
  });
  // A refused token is final and logged by the link; the node keeps running.
  running.link.ready().catch(() => {});
}

/**
 * Creates and starts everything a configuration file describes. On failure, stops what had started.
 *
 * The nodes start together: every `start()` is called in one pass, and a node binds its listener
 * before its first dial, so each node's listener is bound before any node of the file dials it. A
 * full mesh of the file's nodes connects on the first attempt, whatever the order in the file.
 */
export async function startSystem(loaded: LoadedConfig, logger: Logger = silentLogger): Promise<RunningSystem> {
  const nodes = await build(loaded, logger);
  let dashboard: Dashboard | undefined;
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((r) => r.link?.close()));
    await dashboard?.stop();
    await Promise.all(nodes.map((r) => r.node.stop('system stopping')));
  };
  try {
    const d = loaded.config.dashboard;
    if (d !== undefined) {
      dashboard = createDashboard(dashboardOptionsFor(d, loaded.dir, logger));
      for (const r of nodes) dashboard.addNode(r.node);
      await dashboard.start();
    }
    // The first failure stops every node, which also ends the starts still waiting on dial attempts.
    let failure: { error: unknown } | undefined;
    const starts = nodes.map((r, index) =>
      r.node.start().then(
        () => linkToDashboard(loaded, index, r, logger),
        async (error: unknown) => {
          if (failure !== undefined) return;
          failure = { error };
          await stop().catch(() => {});
        },
      ),
    );
    await Promise.all(starts);
    if (failure !== undefined) throw failure.error;
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
  return { nodes, dashboard, stop };
}
