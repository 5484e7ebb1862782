import type { AddressList } from '@systemge/access';
import type { CommandHandler, CommandHandlers, CommandResult, JSONValue } from '../components.js';
import { NodeStatusError, UnknownCommandError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { SystemgeNode } from '../node-types.js';
import type { TopicMap } from '../components.js';

/** A plain JSON copy (drops undefined fields and functions, turns class instances into objects). */
function data(value: unknown): JSONValue {
  return JSON.parse(JSON.stringify(value ?? null)) as JSONValue;
}

function parseEndpoint(arg: string | undefined): { host: string; port: number } {
  const match = arg === undefined ? null : /^(.+):(\d{1,5})$/.exec(arg);
  if (match === null) throw new Error('usage: connect <host:port>');
  const host = (match[1] as string).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(match[2]) };
}

function editList(list: AddressList, name: string, args: string[]): JSONValue {
  const [action = 'list', entry] = args;
  if (action === 'list') return list.entries();
  if ((action === 'add' || action === 'remove') && entry !== undefined) {
    const changed = action === 'add' ? list.add(entry) : list.remove(entry);
    return `${name} list ${changed ? (action === 'add' ? 'now has' : 'no longer has') : action === 'add' ? 'already has' : 'does not have'} ${entry}`;
  }
  throw new Error(`usage: ${name} [list | add <address or CIDR> | remove <address or CIDR>]`);
}

/** The commands every node has. App and plugin commands are added next to them. */
export function builtinCommands<T extends TopicMap>(node: SystemgeNode<T>, describe: () => Record<string, unknown>): CommandHandlers {
  return {
    status: () => data(describe()),
    start: async () => {
      await node.start();
      return `node ${node.name} started`;
    },
    stop: async () => {
      await node.stop('stopped by command');
      return `node ${node.name} stopped`;
    },
    restart: async () => {
      await node.restart();
      return `node ${node.name} restarted`;
    },
    connections: () =>
      data(
        node.peers().map((p) => ({
          name: p.name,
          direction: p.direction,
          remote: `${p.remoteAddress}:${p.remotePort}`,
          transport: p.transport,
          connectedAt: new Date(p.connectedAt).toISOString(),
          bytesIn: p.bytesIn,
          bytesOut: p.bytesOut,
        })),
      ),
    topics: () => {
      const own = node.topics();
      const remote: Record<string, { asyncTopics: string[]; syncTopics: string[] }> = {};
      for (const p of node.peers()) remote[p.name] = { asyncTopics: p.asyncTopics, syncTopics: p.syncTopics };
      return data({ handled: own, peers: remote });
    },
    stats: () => data(node.stats),
    allow: (args) => editList(node.allowList, 'allow', args),
    deny: (args) => editList(node.denyList, 'deny', args),
    commands: () => node.commandNames(),
    connect: async (args) => {
      const peer = await node.connect(parseEndpoint(args[0]));
      return `connected to ${peer.name}`;
    },
    disconnect: async (args) => {
      const name = args[0];
      if (name === undefined) throw new Error('usage: disconnect <peer-name>');
      await node.disconnect(name);
      return `disconnected from ${name}`;
    },
  };
}

/**
 * The node's commands: the built-in ones, then the application's and the plugins' (which may
 * replace a built-in one, never each other).
 */
export class CommandRegistry<T extends TopicMap> {
  private readonly own = new Map<string, CommandHandler>();
  private readonly node: SystemgeNode<T>;
  private readonly describe: () => Record<string, unknown>;
  private readonly logger: Logger;

  constructor(
    node: SystemgeNode<T>,
    describe: () => Record<string, unknown>,
    logger: Logger,
    application: CommandHandlers,
    plugins: Iterable<[string, CommandHandler]>,
  ) {
    this.node = node;
    this.describe = describe;
    this.logger = logger;
    for (const [name, handler] of Object.entries(application)) this.own.set(name, handler);
    for (const [name, handler] of plugins) {
      if (this.own.has(name)) throw new NodeStatusError(`command "${name}" is defined twice`);
      this.own.set(name, handler);
    }
  }

  private all(): Map<string, CommandHandler> {
    const all = new Map<string, CommandHandler>(Object.entries(builtinCommands(this.node, this.describe)));
    for (const [name, handler] of this.own) all.set(name, handler);
    return all;
  }

  names(): string[] {
    return [...this.all().keys()].sort();
  }

  async run(name: string, args: string[]): Promise<CommandResult> {
    const commands = this.all();
    const handler = commands.get(name);
    if (handler === undefined) throw new UnknownCommandError(name, [...commands.keys()].sort());
    this.logger.info({ command: name, argc: args.length }, 'command');
    return await handler(args);
  }
}
