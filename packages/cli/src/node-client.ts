import { randomBytes } from 'node:crypto';
import {
  type CommandResult,
  createNode,
  decodeCommandResult,
  parseCommandFailure,
  REMOTE_COMMAND_TOPIC,
  type SyncResponse,
  type SystemgeNode,
} from '@systemge/node';
import { formatHost, isLoopbackHost } from '@systemge/access';
import type { Transport } from '@systemge/protocol';
import { tcpTransport } from '@systemge/transport-tcp';
import { tlsTransport } from '@systemge/transport-tls';
import { InsecureTokenError, NodeCommandError, RemoteCommandsOffError, UsageError } from './errors.js';

/** How `systemge command --node` and `systemge repl --node` reach a node's Systemge port. */
export interface NodeAccess {
  /** `host:port` (IPv6 as `[::1]:port`). */
  address: string;
  /** Handshake token (the node's `auth.token`, or this peer's `auth.peerTokens` entry). */
  token: string | undefined;
  /** Name this peer announces in the handshake. Default `systemge-cli-<random>`. */
  name: string | undefined;
  tls: boolean;
  ca: string | undefined;
  cert: string | undefined;
  key: string | undefined;
  serverName: string | undefined;
  allowInsecure: boolean;
  /** Give up connecting after this long, ms. */
  timeoutMs: number;
}

/** A connection to one node, as a peer: commands, sync requests and async messages. */
export interface NodeClient {
  /** The node's name, from its handshake. */
  readonly node: string;
  /** The name this client announced. */
  readonly self: string;
  /** `host:port` it was reached at. */
  readonly address: string;
  /** Whether the node accepts commands from peers (`systemge.command`). */
  readonly commandsEnabled: boolean;
  /** The node's topics, from its handshake. */
  topics(): { asyncTopics: string[]; syncTopics: string[] };
  run(command: string, args: string[]): Promise<CommandResult>;
  call(topic: string, payload: string, timeoutMs?: number): Promise<SyncResponse[]>;
  emit(topic: string, payload: string): void;
  close(): Promise<void>;
}

export function parseAddress(address: string): { host: string; port: number } {
  const match = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(address);
  const port = match === null ? NaN : Number(match[2]);
  if (match === null || port < 1 || port > 65535) throw new UsageError(`--node must be host:port, e.g. 127.0.0.1:7000, got "${address}"`);
  return { host: (match[1] as string).replace(/^\[(.*)\]$/, '$1'), port };
}

export function transportOf(access: Pick<NodeAccess, 'tls' | 'ca' | 'cert' | 'key'>): Transport {
  if ((access.cert === undefined) !== (access.key === undefined)) throw new UsageError('--cert and --key go together');
  const tls = access.tls || access.ca !== undefined || access.cert !== undefined;
  if (!tls) return tcpTransport();
  return tlsTransport({ caFile: access.ca, certFile: access.cert, keyFile: access.key });
}

/** Connects to a node as a peer that does not listen. Rejects when the node cannot be reached or refuses the handshake. */
export async function connectToNode(access: NodeAccess): Promise<NodeClient> {
  const { host, port } = parseAddress(access.address);
  const transport = transportOf(access);
  if (access.token !== undefined && transport.name !== 'tls' && !access.allowInsecure && !isLoopbackHost(host)) {
    throw new InsecureTokenError(`${host}:${port}`, 'node');
  }
  const self = access.name ?? `systemge-cli-${randomBytes(4).toString('hex')}`;
  const client: SystemgeNode = createNode(
    {
      name: self,
      transport,
      listen: false,
      connection: { maxAttempts: 1, handshakeTimeoutMs: access.timeoutMs },
      auth: access.token === undefined ? undefined : { token: access.token },
    },
    {},
  );
  await client.start();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect({ host, port, serverName: access.serverName }),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no handshake within ${access.timeoutMs} ms`)), access.timeoutMs);
      }),
    ]);
  } catch (error) {
    await client.stop('could not connect').catch(() => {});
    throw error;
  } finally {
    clearTimeout(timer);
  }
  const peer = client.peers()[0];
  if (peer === undefined) throw new Error(`${host}:${port} closed the connection after the handshake`);
  const node = peer.name;
  const info = () => client.peers().find((p) => p.name === node);
  return {
    node,
    self,
    address: `${formatHost(host)}:${port}`,
    get commandsEnabled() {
      return info()?.syncTopics.includes(REMOTE_COMMAND_TOPIC) ?? false;
    },
    topics: () => {
      const p = info();
      return { asyncTopics: [...(p?.asyncTopics ?? [])], syncTopics: (p?.syncTopics ?? []).filter((t) => t !== REMOTE_COMMAND_TOPIC) };
    },
    async run(command, args) {
      if (!(info()?.syncTopics.includes(REMOTE_COMMAND_TOPIC) ?? false)) throw new RemoteCommandsOffError(node, `${host}:${port}`);
      const request = client.syncRequest(REMOTE_COMMAND_TOPIC, JSON.stringify({ command, args }), { to: node, timeoutMs: 30_000 });
      const [response] = await request.all();
      if (response === undefined) throw new Error(`node ${node} did not answer within 30 s`);
      if (response.ok) {
        const payload = response.payload;
        return decodeCommandResult(payload instanceof Uint8Array ? Buffer.from(payload).toString('utf8') : String(payload));
      }
      const failure = parseCommandFailure(response.error);
      throw new NodeCommandError(node, command, failure.message, failure.code, failure.available);
    },
    call: (topic, payload, timeoutMs = 10_000) => client.syncRequest(topic, payload, { to: node, timeoutMs }).all(),
    emit: (topic, payload) => {
      client.asyncMessage(topic, payload, { to: node });
    },
    close: () => client.stop('operator done'),
  };
}
