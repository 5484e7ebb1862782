import { isLoopbackHost } from '@systemge/access';
import {
  type AnyTopics,
  answerCommandRequest,
  AuthenticationError,
  createNode,
  EventLoopProbe,
  InvalidArgumentError,
  type Logger,
  type NodeStatus,
  parseCommandRequest,
  silentLogger,
  type SystemgeNode,
  type TopicMap,
} from '@systemge/node';
import { SystemgeError, type Transport } from '@systemge/protocol';
import { describeNode } from './description.js';
import { DASHBOARD_COMMAND_TOPIC, DASHBOARD_DESCRIBE_TOPIC, DASHBOARD_STATUS_TOPIC, DASHBOARD_UPDATE_TOPIC } from './topics.js';

export interface DashboardLinkOptions {
  /** Dashboard's Systemge address. */
  host: string;
  port: number;
  /** Transport to reach it, e.g. `tcpTransport()` or `tlsTransport(...)`. */
  transport: Transport;
  /** Token the dashboard requires. Never logged. */
  token?: string;
  /** TLS server name of the dashboard. */
  serverName?: string;
  /** TLS CA certificate (PEM) of the dashboard. */
  ca?: string;
  /**
   * Send `token` over a transport that does not encrypt (anything but `tls` and `memory`) to a
   * host that is not loopback (127.0.0.0/8, ::1, localhost). Without it such a link is refused
   * with `SYSTEMGE_ERR_INSECURE_LINK`, since anyone on the path could read the token. Default false.
   */
  allowInsecure?: boolean;
  /** Delay before the second connection attempt, ms; attempts go on forever with backoff. Default 200. */
  initialDelayMs?: number;
  /** Cap on the delay between attempts, ms. Default 5000. */
  maxDelayMs?: number;
  /** Heartbeat interval / timeout of the link, ms. Defaults 2000 / 6000. */
  heartbeatIntervalMs?: number;
  heartbeatTimeoutMs?: number;
  /**
   * When the node's peers connect or disconnect, or its discovery's membership or degraded state
   * changes, the link pushes the node's description to the dashboard after this delay, ms, so a
   * burst of changes goes out once: an integer from 0 to 10000. Default 50.
   */
  updateDelayMs?: number;
  logger?: Logger;
}

/** A node's connection to a dashboard. It outlives the node's own stop/start, so a dashboard can start it again. */
export interface DashboardLink {
  /** True while connected to the dashboard. */
  readonly connected: boolean;
  /**
   * Resolves once connected (the link keeps retrying in the background until then). Rejects with
   * `SYSTEMGE_ERR_AUTH_FAILED` when the dashboard refuses the token: that refusal is final, the
   * link stops and is logged at error level.
   */
  ready(): Promise<void>;
  /** Closes the link. */
  close(): Promise<void>;
}

/**
 * A dashboard link would send its token unencrypted across the network: the transport does not
 * encrypt and the host is not loopback. Thrown by `connectDashboard` before anything is dialed.
 */
export class InsecureLinkError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_INSECURE_LINK';
  readonly host: string;
  readonly transport: string;
  constructor(host: string, port: number, transport: string) {
    super(
      InsecureLinkError.code,
      `dashboard link to ${host}:${port} would send its token over the unencrypted "${transport}" transport to a non-loopback host: ` +
        'use a TLS transport (tlsTransport) or set allowInsecure: true',
    );
    this.host = host;
    this.transport = transport;
  }
}

/** Transports that do not put the token on a network in clear text. */
const ENCRYPTED_TRANSPORTS: ReadonlySet<string> = new Set(['tls', 'memory']);

/** The auth refusal in a connection failure (directly, or as the cause of a wrapping error). */
function authRefusal(error: unknown): Error | undefined {
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { code?: unknown }).code === AuthenticationError.code) return e as Error;
  }
  return undefined;
}

/**
 * Registers `node` with a dashboard over the Systemge protocol: the dashboard can describe it and
 * run its commands (including `stop` and `start`), and sees its status changes as they happen.
 * The link is its own small node with the same name; it does not listen and reconnects forever,
 * except after an auth refusal, which is final. Rejects with `SYSTEMGE_ERR_INSECURE_LINK` when a
 * token would cross the network unencrypted (see `allowInsecure`).
 */
export async function connectDashboard<T extends TopicMap = AnyTopics>(
  node: SystemgeNode<T>,
  options: DashboardLinkOptions,
): Promise<DashboardLink> {
  const transportName = String(options.transport?.name);
  if (
    options.token !== undefined &&
    options.allowInsecure !== true &&
    !ENCRYPTED_TRANSPORTS.has(transportName) &&
    !isLoopbackHost(String(options.host))
  ) {
    throw new InsecureLinkError(String(options.host), options.port, transportName);
  }
  const updateDelayMs = options.updateDelayMs ?? 50;
  if (!Number.isInteger(updateDelayMs) || updateDelayMs < 0 || updateDelayMs > 10_000) {
    throw new InvalidArgumentError('updateDelayMs', `${String(updateDelayMs)} is not an integer from 0 to 10000`);
  }
  const logger = options.logger ?? silentLogger;
  const probe = new EventLoopProbe();
  const link = createNode(
    {
      name: node.name,
      transport: options.transport,
      listen: false,
      connection: {
        maxAttempts: 0,
        initialDelayMs: options.initialDelayMs ?? 200,
        maxDelayMs: options.maxDelayMs ?? 5000,
      },
      heartbeat: { intervalMs: options.heartbeatIntervalMs ?? 2000, timeoutMs: options.heartbeatTimeoutMs ?? 6000 },
      auth: options.token === undefined ? undefined : { token: options.token },
    },
    {
      getSyncMessageHandlers: () => ({
        [DASHBOARD_DESCRIBE_TOPIC]: () => JSON.stringify(describeNode(node, probe)),
        [DASHBOARD_COMMAND_TOPIC]: (message) => answerCommandRequest(node, parseCommandRequest(String(message.payload))),
      }),
    },
    options.logger === undefined ? {} : { logger: options.logger },
  );
  const onStatus = (status: NodeStatus, previous: NodeStatus): void => {
    if (link.status !== 'started' || link.peers().length === 0) return;
    try {
      link.asyncMessage(DASHBOARD_STATUS_TOPIC, JSON.stringify({ name: node.name, status, previous }));
    } catch {
      // The dashboard re-reads the status on its next describe.
    }
  };
  node.on('status', onStatus);
  // Peers and membership change in bursts (a mesh forming): one push per burst, `updateDelayMs` after its first change.
  let updateTimer: NodeJS.Timeout | undefined;
  const pushUpdate = (): void => {
    updateTimer = undefined;
    const dashboard = link.peers()[0];
    if (link.status !== 'started' || dashboard === undefined || !dashboard.asyncTopics.includes(DASHBOARD_UPDATE_TOPIC)) return;
    try {
      // Without process figures: reading them resets the event-loop sampling the dashboard's describe reports.
      link.asyncMessage(DASHBOARD_UPDATE_TOPIC, JSON.stringify(describeNode(node)));
    } catch {
      // The dashboard re-reads the description on its next describe.
    }
  };
  const onChange = (): void => {
    if (updateTimer === undefined && !closed) updateTimer = setTimeout(pushUpdate, updateDelayMs);
  };
  node.on('peer:connected', onChange);
  node.on('peer:disconnected', onChange);
  node.on('discovery:changed', onChange);
  let closed = false;
  let refused: Error | undefined;
  // An auth refusal will not change by retrying: stop the link, so `connect` below settles.
  link.on('connect:failed', (_endpoint, attempt, error) => {
    const refusal = authRefusal(error);
    if (refusal === undefined || closed || refused !== undefined) return;
    refused = refusal;
    logger.error(
      { node: node.name, dashboard: `${options.host}:${options.port}`, attempt, code: (refusal as { code?: string }).code, err: refusal },
      'dashboard refused the link token; not retrying',
    );
    link.stop('dashboard refused the token').catch(() => {});
  });
  await link.start();
  const connecting = link.connect({ host: options.host, port: options.port, serverName: options.serverName, ca: options.ca }).then(
    () => undefined,
    (error: unknown) => {
      if (refused !== undefined) throw refused;
      const refusal = authRefusal(error);
      if (refusal !== undefined && !closed) {
        refused = refusal;
        logger.error(
          { node: node.name, dashboard: `${options.host}:${options.port}`, err: refusal },
          'dashboard refused the link token; not retrying',
        );
        throw refusal;
      }
      if (!closed) throw error;
    },
  );
  connecting.catch(() => {});
  return {
    get connected() {
      return link.peers().length > 0;
    },
    ready: () => connecting,
    close: async () => {
      closed = true;
      node.off('status', onStatus);
      node.off('peer:connected', onChange);
      node.off('peer:disconnected', onChange);
      node.off('discovery:changed', onChange);
      clearTimeout(updateTimer);
      probe.stop();
      await link.stop('dashboard link closed');
    },
  };
}
