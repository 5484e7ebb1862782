import { SystemgeError } from '@systemge/protocol';
import { answerCommandRequest, failure, parseCommandRequest } from './command-protocol.js';
import type { AnyTopics, NodePlugin, PluginContext, TopicMap } from './components.js';
import type { AuthConfig } from './config.js';
import { isLoopbackHost } from './dashboard-link.js';
import type { SystemgeNode } from './node-types.js';

/** Sync topic a node with `remoteCommands()` answers (payload: JSON `{ command, args }`; response: JSON `{ result }`). */
export const REMOTE_COMMAND_TOPIC = 'systemge.command';

/**
 * A peer asked for a command that `remoteCommands({ peers, commands })` does not allow it. Reaches
 * the peer as the failure of its `systemge.command` request (code and message).
 */
export class CommandNotPermittedError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_COMMAND_NOT_PERMITTED';
  constructor(message: string) {
    super(CommandNotPermittedError.code, message);
  }
}

export interface RemoteCommandsOptions {
  /**
   * Only these peer names may run commands. Default: every peer that passed the node's handshake.
   * A name is only as trustworthy as the handshake that proved it: give each listed peer its own
   * token (`auth.peerTokens`) or require certificate names (`auth.requireCertificateName`).
   */
  peers?: readonly string[];
  /** Only these commands may be run remotely. Default: all of the node's commands. */
  commands?: readonly string[];
  /**
   * Accept commands although the node requires no handshake token and listens on a host that is
   * not loopback. For nodes whose transport authenticates peers (TLS with client certificates)
   * or networks you trust. Default false: such a node refuses to start with
   * `SYSTEMGE_ERR_REMOTE_COMMANDS_UNAUTHENTICATED`.
   */
  allowUnauthenticated?: boolean;
}

/**
 * `remoteCommands()` was added to a node that authenticates nobody (no `auth.token`,
 * `auth.peerTokens` or `auth.requireCertificateName`) and listens beyond loopback: anyone who can
 * reach the port could stop it.
 */
export class RemoteCommandsUnauthenticatedError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_REMOTE_COMMANDS_UNAUTHENTICATED';
  readonly node: string;
  readonly host: string;
  constructor(node: string, host: string) {
    super(
      RemoteCommandsUnauthenticatedError.code,
      `node "${node}" would accept commands from any peer that reaches ${host}: set auth.token (or auth.peerTokens, or auth.requireCertificateName with TLS client certificates), ` +
        'listen on a loopback host, or set allowUnauthenticated: true when the transport authenticates peers (TLS client certificates)',
    );
    this.node = node;
    this.host = host;
  }
}

interface NodeInternals {
  config?: { auth?: AuthConfig };
}

/** True when the node authenticates its peers: a handshake token, or certificate names. */
function authenticatesPeers(node: SystemgeNode<AnyTopics>): boolean {
  const auth = (node as unknown as NodeInternals).config?.auth;
  return auth?.token !== undefined || Object.keys(auth?.peerTokens ?? {}).length > 0 || auth?.requireCertificateName === true;
}

/**
 * Lets peers run the node's commands over its Systemge port (what `systemge command --node` and
 * `systemge repl --node` use): a peer sends a sync request on `systemge.command`. Only peers that
 * passed the node's handshake can send one; `peers` and `commands` narrow it further. Without
 * this plugin a node runs no command for its peers.
 */
export function remoteCommands<T extends TopicMap = AnyTopics>(options: RemoteCommandsOptions = {}): NodePlugin<T> {
  const peers = options.peers === undefined ? undefined : new Set(options.peers);
  const commands = options.commands === undefined ? undefined : new Set(options.commands);
  let served = 0;
  let refused = 0;
  return {
    name: 'remote-commands',
    start({ node, logger }: PluginContext<T>) {
      const host = node.address?.host;
      if (host !== undefined && !isLoopbackHost(host) && options.allowUnauthenticated !== true && !authenticatesPeers(node as SystemgeNode<AnyTopics>)) {
        throw new RemoteCommandsUnauthenticatedError(node.name, host);
      }
      const any = node as unknown as SystemgeNode<AnyTopics>;
      any.addSyncTopic(REMOTE_COMMAND_TOPIC, async (message) => {
        const request = parseCommandRequest(String(message.payload));
        if (peers !== undefined && !peers.has(message.origin)) {
          refused++;
          logger.warn({ peer: message.origin, command: request.command }, 'remote command refused: peer not permitted');
          const e = new CommandNotPermittedError(`peer "${message.origin}" may not run commands on this node`);
          throw failure({ code: e.code, message: e.message, available: undefined });
        }
        if (commands !== undefined && !commands.has(request.command)) {
          refused++;
          logger.warn({ peer: message.origin, command: request.command }, 'remote command refused: command not permitted');
          const e = new CommandNotPermittedError(`command "${request.command}" may not be run remotely`);
          throw failure({ code: e.code, message: e.message, available: [...commands].sort() });
        }
        served++;
        logger.info({ peer: message.origin, command: request.command, argc: request.args.length }, 'remote command');
        return await answerCommandRequest(any, request);
      });
    },
    stop({ node }: PluginContext<T>) {
      (node as unknown as SystemgeNode<AnyTopics>).removeSyncTopic(REMOTE_COMMAND_TOPIC);
    },
    getStats: () => ({ commandsServed: served, commandsRefused: refused }),
    describe: () => ({
      topic: REMOTE_COMMAND_TOPIC,
      peers: peers === undefined ? 'any authenticated peer' : [...peers],
      commands: commands === undefined ? 'all' : [...commands],
    }),
  };
}
