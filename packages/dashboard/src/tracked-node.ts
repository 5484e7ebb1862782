import type { NodeReading } from '@systemge/metrics';
import {
  DASHBOARD_COMMAND_TOPIC,
  DASHBOARD_DESCRIBE_TOPIC,
  describeNode,
  type NodeDescription,
  type ProcessDescription,
} from '@systemge/dashboard-link';
import {
  parseCommandFailure,
  decodeCommandResult,
  type CommandResult,
  UnknownCommandError,
  type NodeStatus,
  type SystemgeNode,
} from '@systemge/node';
import { CommandFailedError, NodeUnavailableError } from './errors.js';
import { summarize, type NodeMetricsSummary } from './summary.js';

/** A node's status as the dashboard shows it: a remote node whose link is down is `disconnected`. */
export type DashboardNodeStatus = NodeStatus | 'disconnected';

/** How long to wait for a remote node's answers. */
export interface RemoteTimeouts {
  describeTimeoutMs: number;
  commandTimeoutMs: number;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** One node the dashboard shows: its last description, its figures and how to reach it. */
export abstract class TrackedNode {
  abstract readonly kind: 'local' | 'remote';
  status: DashboardNodeStatus;
  description: NodeDescription | undefined;
  /** The description the latest summary was taken from; rates run from it to the next one. */
  private summarized: NodeDescription | undefined;
  summary: NodeMetricsSummary | undefined;
  /** A refresh is in flight; the next tick skips this node instead of piling up requests. */
  refreshing = false;

  constructor(
    readonly name: string,
    status: DashboardNodeStatus,
  ) {
    this.status = status;
  }

  /** What `/metrics` reads at a scrape: the latest description. */
  reading(): NodeReading | undefined {
    return this.description;
  }

  /** A fresh description of the node. */
  abstract describe(): Promise<NodeDescription>;

  /** Runs a command; rejects with a typed dashboard error (or `SYSTEMGE_ERR_UNKNOWN_COMMAND`). */
  abstract command(command: string, args: string[]): Promise<CommandResult>;

  /** Whether the node can be described and commanded now. */
  abstract get reachable(): boolean;

  /** Takes the interval's summary from the latest description; the dashboard's metrics tick is its only caller. */
  summarize(): void {
    const d = this.description;
    if (d === undefined || d === this.summarized) return;
    this.summary = summarize(d, this.summarized);
    this.summarized = d;
  }
}

/** A node in the dashboard's own process. */
export class LocalNode extends TrackedNode {
  readonly kind = 'local';

  constructor(
    readonly node: SystemgeNode,
    private readonly process: () => ProcessDescription | undefined,
  ) {
    super(node.name, node.status);
  }

  get reachable(): boolean {
    return true;
  }

  /** Read live at each scrape, so `/metrics` is as fresh as the node itself. */
  override reading(): NodeReading {
    return { stats: this.node.stats, pluginMetrics: this.node.pluginMetrics(), process: this.process() };
  }

  current(): NodeDescription {
    return { ...describeNode(this.node), process: this.process() };
  }

  describe(): Promise<NodeDescription> {
    return Promise.resolve(this.current());
  }

  async command(command: string, args: string[]): Promise<CommandResult> {
    try {
      return await this.node.command(command, args);
    } catch (error) {
      if (errorCode(error) === UnknownCommandError.code) throw error;
      throw new CommandFailedError(this.name, command, errorMessage(error), { cause: error });
    }
  }
}

/** A node in another process, reached through its dashboard link. */
export class RemoteNode extends TrackedNode {
  readonly kind = 'remote';
  /** True while its link is connected to the dashboard's Systemge node. */
  linked = true;

  constructor(
    name: string,
    private readonly via: SystemgeNode,
    private readonly timeouts: RemoteTimeouts,
  ) {
    super(name, 'starting');
  }

  get reachable(): boolean {
    return this.linked && this.via.status === 'started';
  }

  async describe(): Promise<NodeDescription> {
    if (!this.reachable) throw new NodeUnavailableError(this.name, 'its dashboard link is not connected');
    let text: string;
    try {
      const payload = await this.via
        .syncRequest(DASHBOARD_DESCRIBE_TOPIC, '', { to: this.name, timeoutMs: this.timeouts.describeTimeoutMs })
        .first();
      text = payloadText(payload);
    } catch (error) {
      throw new NodeUnavailableError(this.name, errorMessage(error), { cause: error });
    }
    try {
      return JSON.parse(text) as NodeDescription;
    } catch (error) {
      throw new NodeUnavailableError(this.name, 'its description is not valid JSON', { cause: error });
    }
  }

  async command(command: string, args: string[]): Promise<CommandResult> {
    const known = this.description?.commands;
    if (known !== undefined && !known.includes(command)) throw new UnknownCommandError(command, [...known].sort());
    if (!this.reachable) throw new NodeUnavailableError(this.name, 'its dashboard link is not connected');
    const request = this.via.syncRequest(DASHBOARD_COMMAND_TOPIC, JSON.stringify({ command, args }), {
      to: this.name,
      timeoutMs: this.timeouts.commandTimeoutMs,
    });
    const [response] = await request.all().catch((error: unknown) => {
      throw new NodeUnavailableError(this.name, errorMessage(error), { cause: error });
    });
    if (response === undefined) {
      throw new NodeUnavailableError(
        this.name,
        request.outcome === 'timeout' ? `no answer within ${this.timeouts.commandTimeoutMs} ms` : `request ${request.outcome ?? 'failed'}`,
      );
    }
    if (response.ok) {
      return decodeCommandResult(payloadText(response.payload));
    }
    if (response.code !== 'SYSTEMGE_ERR_SYNC_FAILURE') throw new NodeUnavailableError(this.name, response.error);
    const failure = parseCommandFailure(response.error);
    if (failure.code === UnknownCommandError.code) {
      throw new UnknownCommandError(command, failure.available ?? [...(known ?? [])].sort());
    }
    throw new CommandFailedError(this.name, command, failure.message);
  }
}

/** The text of a dashboard topic's answer: nodes answer with JSON text (older ones as bytes). */
function payloadText(payload: unknown): string {
  if (typeof payload === 'string') return payload;
  if (payload instanceof Uint8Array) return Buffer.from(payload).toString('utf8');
  return String(payload);
}
