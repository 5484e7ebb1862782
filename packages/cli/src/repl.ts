import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { inspect } from 'node:util';
import type { CommandResult, SyncResponse } from '@systemge/node';
import { type DashboardAccess, dashboardClient } from './dashboard-client.js';
import { formatResult } from './format.js';
import { connectToNode, type NodeAccess, type NodeClient } from './node-client.js';

/** The terminal of `systemge repl`. */
export interface ReplIO {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  /** Where the history is kept between sessions; undefined: `~/.systemge_repl_history` (or SYSTEMGE_REPL_HISTORY). */
  historyFile?: string;
}

export type ReplTarget = { kind: 'node'; nodes: NodeAccess[] } | { kind: 'dashboard'; access: DashboardAccess };

interface NodeRow {
  name: string;
  status: string;
  address: string;
}

/** What the console talks to: a dashboard's HTTP API, or nodes directly as their peer. */
interface Backend {
  readonly where: string;
  nodes(): Promise<NodeRow[]>;
  commands(node: string): Promise<string[]>;
  topics(node: string): { asyncTopics: string[]; syncTopics: string[] };
  run(node: string, command: string, args: string[]): Promise<CommandResult>;
  stats(node: string): Promise<Record<string, number>>;
  call(node: string, topic: string, payload: string): Promise<SyncResponse[]>;
  emit(node: string, topic: string, payload: string): void;
  close(): Promise<void>;
}

const KEYWORDS = ['nodes', 'use', 'call', 'emit', 'watch', 'help', 'exit'];

const HELP_TEXT = `  nodes                    list the nodes
  use <node>               send the next lines to <node>
  <cmd> [args...]          run a node command (try: commands, stats, connections, topics, status)
  call <topic> <payload>   sync request; prints every response
  emit <topic> <payload>   async message
  watch [node]             live rates, refreshed every second; Enter or Ctrl+C stops
  help                     this text
  exit                     leave (Ctrl+D too)`;

class ReplError extends Error {}

function nodeBackend(clients: NodeClient[]): Backend {
  const byName = new Map(clients.map((c) => [c.node, c]));
  const get = (name: string): NodeClient => {
    const client = byName.get(name);
    if (client === undefined) throw new ReplError(`no node "${name}"; nodes: ${[...byName.keys()].join(', ')}`);
    return client;
  };
  return {
    where: clients.map((c) => c.node).join(', '),
    nodes: async () =>
      clients.map((c) => ({ name: c.node, status: c.commandsEnabled ? 'connected' : 'connected (commands off)', address: c.address })),
    commands: async (node) => {
      const result = await get(node).run('commands', []);
      return Array.isArray(result) ? result.map(String) : String(result).split('\n');
    },
    topics: (node) => byName.get(node)?.topics() ?? { asyncTopics: [], syncTopics: [] },
    run: (node, command, args) => get(node).run(command, args),
    stats: async (node) => (await get(node).run('stats', [])) as Record<string, number>,
    call: (node, topic, payload) => get(node).call(topic, payload),
    emit: (node, topic, payload) => get(node).emit(topic, payload),
    close: async () => {
      await Promise.all(clients.map((c) => c.close().catch(() => {})));
    },
  };
}

function dashboardBackend(access: DashboardAccess): Backend {
  const dashboard = dashboardClient(access);
  const ok = async (method: 'GET' | 'POST', path: string, body?: unknown): Promise<Record<string, unknown>> => {
    const answer = await dashboard.request(method, path, body);
    if (answer.status >= 200 && answer.status < 300) return answer.body;
    const error = typeof answer.body.error === 'string' ? answer.body.error : `dashboard answered ${answer.status}`;
    const commands = Array.isArray(answer.body.commands) ? `\navailable commands: ${answer.body.commands.join(', ')}` : '';
    throw new ReplError(`${error}${commands}`);
  };
  const path = (node: string) => `/api/nodes/${encodeURIComponent(node)}`;
  const noMessages = (): never => {
    throw new ReplError('call and emit go to a node directly: start the console with --node <host:port>');
  };
  return {
    where: dashboard.origin,
    nodes: async () => {
      const { nodes } = (await ok('GET', '/api/nodes')) as {
        nodes: { name: string; status: string; address?: { host: string; port: number } | null }[];
      };
      return nodes.map((n) => ({
        name: n.name,
        status: n.status,
        address: n.address == null ? '' : `${n.address.host}:${n.address.port}`,
      }));
    },
    commands: async (node) => ((await ok('GET', path(node))) as { commands?: string[] }).commands ?? [],
    topics: () => ({ asyncTopics: [], syncTopics: [] }),
    run: async (node, command, args) =>
      ((await ok('POST', `${path(node)}/command`, { command, args })) as { result: CommandResult }).result,
    stats: async (node) => ((await ok('GET', path(node))) as { stats: Record<string, number> }).stats,
    call: noMessages,
    emit: noMessages,
    close: async () => {},
  };
}

/** Splits a line into words; "double quoted" words may hold spaces. The payload of call/emit is the rest of the line. */
function words(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g))
    out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] as string));
  return out;
}

function rest(line: string, skip: number): string {
  let s = line.trimStart();
  for (let i = 0; i < skip; i++) s = s.replace(/^\S+\s*/, '');
  return s.trim();
}

function rate(n: number): string {
  return n >= 100 ? n.toFixed(0) : n.toFixed(1);
}

function bytesRate(n: number): string {
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB/s`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KB/s`;
  return `${Math.round(n)} B/s`;
}

/** One watch line from two stats readings `seconds` apart. */
export function watchLine(node: string, before: Record<string, number>, after: Record<string, number>, seconds: number): string {
  const d = (key: string): number => Math.max(0, ((after[key] ?? 0) - (before[key] ?? 0)) / seconds);
  return (
    `${node}  msgs in ${rate(d('asyncReceived'))}/s out ${rate(d('asyncSent'))}/s` +
    `  sync in ${rate(d('syncRequestsReceived'))}/s out ${rate(d('syncRequestsSent'))}/s` +
    `  bytes in ${bytesRate(d('bytesIn'))} out ${bytesRate(d('bytesOut'))}` +
    `  peers ${(after.connectionsIn ?? 0) + (after.connectionsOut ?? 0)}`
  );
}

function formatResponse(r: SyncResponse): string {
  if (!r.ok) return `${r.origin}: failed ${r.code}: ${r.error}`;
  // A structured payload (object, number, Date...) is shown as Node.js shows values.
  if (typeof r.payload !== 'string' && !(r.payload instanceof Uint8Array)) return `${r.origin}: ${inspect(r.payload, { depth: 6 })}`;
  const text = typeof r.payload === 'string' ? r.payload : Buffer.from(r.payload).toString('utf8');
  try {
    return `${r.origin}: ${JSON.stringify(JSON.parse(text), null, 2)}`;
  } catch {
    return `${r.origin}: ${text}`;
  }
}

/** Runs the interactive console until `exit` or end of input. Returns the exit code. */
export async function runRepl(target: ReplTarget, io: ReplIO): Promise<number> {
  const write = (text: string): void => {
    io.output.write(text.endsWith('\n') ? text : `${text}\n`);
  };
  let backend: Backend;
  try {
    if (target.kind === 'node') {
      const clients: NodeClient[] = [];
      try {
        for (const access of target.nodes) clients.push(await connectToNode(access));
      } catch (error) {
        await Promise.all(clients.map((c) => c.close().catch(() => {})));
        throw error;
      }
      backend = nodeBackend(clients);
    } else {
      backend = dashboardBackend(target.access);
    }
  } catch (error) {
    const e = error as { code?: string; message: string };
    if (e.code === 'SYSTEMGE_ERR_CLI_USAGE' || e.code === 'SYSTEMGE_ERR_CLI_INSECURE_TOKEN') throw error;
    write(`systemge: cannot connect: ${e.message}`);
    return 3;
  }

  let current: string | undefined;
  let nodeNames: string[] = [];
  const commandCache = new Map<string, string[]>();
  const refreshNodes = async (): Promise<NodeRow[]> => {
    const rows = await backend.nodes();
    nodeNames = rows.map((r) => r.name);
    return rows;
  };
  const commandsOf = async (node: string): Promise<string[]> => {
    const cached = commandCache.get(node);
    if (cached !== undefined) return cached;
    const list = await backend.commands(node).catch(() => []);
    commandCache.set(node, list);
    return list;
  };
  try {
    const rows = await refreshNodes();
    if (rows.length === 1) current = rows[0]?.name;
    if (current !== undefined) await commandsOf(current);
  } catch (error) {
    write(`systemge: cannot list nodes on ${backend.where}: ${(error as Error).message}`);
    await backend.close();
    return 3;
  }

  const historyFile = io.historyFile ?? process.env.SYSTEMGE_REPL_HISTORY ?? join(homedir(), '.systemge_repl_history');
  let history: string[] = [];
  try {
    if (existsSync(historyFile))
      history = readFileSync(historyFile, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .reverse()
        .slice(0, 500);
  } catch {
    // No history.
  }

  const completer = (line: string): [string[], string] => {
    const parts = line.split(/\s+/);
    const word = parts.at(-1) ?? '';
    let candidates: string[];
    if (parts.length <= 1) candidates = [...KEYWORDS, ...(current === undefined ? [] : (commandCache.get(current) ?? []))];
    else if (parts.length === 2 && (parts[0] === 'use' || parts[0] === 'watch')) candidates = nodeNames;
    else if (parts.length === 2 && parts[0] === 'call' && current !== undefined) candidates = backend.topics(current).syncTopics;
    else if (parts.length === 2 && parts[0] === 'emit' && current !== undefined) candidates = backend.topics(current).asyncTopics;
    else candidates = [];
    const hits = [...new Set(candidates)].filter((c) => c.startsWith(word)).sort();
    return [hits.length > 0 ? hits : [], word];
  };

  const interactive = (io.output as { isTTY?: boolean }).isTTY === true;
  const rl: Interface = createInterface({
    input: io.input,
    output: io.output,
    // Piped input (a script of lines) reads line by line, without prompts redrawn or keys echoed.
    terminal: interactive,
    completer,
    history,
    historySize: 500,
    removeHistoryDuplicates: true,
  });
  const prompt = (): void => {
    if (!interactive) return;
    rl.setPrompt(`systemge${current === undefined ? '' : `(${current})`}> `);
    rl.prompt();
  };

  let stopWatch: (() => void) | undefined;
  const watch = (node: string): Promise<void> =>
    new Promise((resolve) => {
      let previous: { stats: Record<string, number>; at: number } | undefined;
      let timer: NodeJS.Timeout | undefined;
      let done = false;
      const tick = async (): Promise<void> => {
        try {
          const stats = await backend.stats(node);
          const at = Date.now();
          if (done) return;
          if (previous !== undefined)
            io.output.write(`\r\u001b[K${watchLine(node, previous.stats, stats, Math.max(0.001, (at - previous.at) / 1000))}`);
          else io.output.write(`\r\u001b[Kwatching ${node} (Enter or Ctrl+C stops)…`);
          previous = { stats, at };
        } catch (error) {
          if (!done) io.output.write(`\r\u001b[K${node}: ${(error as Error).message}`);
        }
        if (!done) timer = setTimeout(() => void tick(), 1000);
      };
      stopWatch = () => {
        done = true;
        clearTimeout(timer);
        stopWatch = undefined;
        io.output.write('\n');
        resolve();
      };
      void tick();
    });

  const requireNode = (): string => {
    if (current === undefined) throw new ReplError(`pick a node first: use <node> (nodes: ${nodeNames.join(', ')})`);
    return current;
  };

  const handle = async (line: string): Promise<boolean> => {
    const [head, ...args] = words(line);
    if (head === undefined) return true;
    switch (head) {
      case 'exit':
      case 'quit':
        return false;
      case 'help':
        write(HELP_TEXT);
        return true;
      case 'nodes': {
        const rows = await refreshNodes();
        const width = Math.max(4, ...rows.map((r) => r.name.length));
        for (const r of rows)
          write(`${r.name === current ? '*' : ' '} ${r.name.padEnd(width)}  ${r.status}${r.address === '' ? '' : `  ${r.address}`}`);
        return true;
      }
      case 'use': {
        const name = args[0];
        if (name === undefined) throw new ReplError('usage: use <node>');
        if (!nodeNames.includes(name)) await refreshNodes();
        if (!nodeNames.includes(name)) throw new ReplError(`no node "${name}"; nodes: ${nodeNames.join(', ')}`);
        current = name;
        await commandsOf(name);
        return true;
      }
      case 'call':
      case 'emit': {
        const node = requireNode();
        const topic = args[0];
        if (topic === undefined) throw new ReplError(`usage: ${head} <topic> <payload>`);
        const payload = rest(line, 2);
        if (head === 'emit') {
          backend.emit(node, topic, payload);
          write(`sent to ${node}`);
          return true;
        }
        const responses = await backend.call(node, topic, payload);
        if (responses.length === 0) write('(no response)');
        for (const r of responses) write(formatResponse(r));
        return true;
      }
      case 'watch': {
        const node = args[0] ?? requireNode();
        await watch(node);
        return true;
      }
      default: {
        const node = requireNode();
        write(formatResult(await backend.run(node, head, args)) || '(no output)');
        return true;
      }
    }
  };

  write(`connected to ${backend.where}; nodes: ${nodeNames.join(', ') || '(none)'}. Type help for commands.`);
  prompt();
  return await new Promise<number>((resolve) => {
    // Lines run one after the other (a pasted or piped batch too); a line while watching stops the watch.
    let chain: Promise<void> = Promise.resolve();
    let closing = false;
    const finish = async (): Promise<void> => {
      if (closing) return;
      closing = true;
      stopWatch?.();
      await chain;
      if (interactive) {
        try {
          const kept = (rl as unknown as { history: string[] }).history.slice(0, 500).reverse();
          writeFileSync(historyFile, `${kept.join('\n')}\n`, { mode: 0o600 });
        } catch {
          // History is a convenience.
        }
      }
      rl.close();
      await backend.close();
      resolve(0);
    };
    rl.on('SIGINT', () => {
      if (stopWatch !== undefined) {
        stopWatch();
        return;
      }
      rl.write(null, { ctrl: true, name: 'u' });
      io.output.write('\n(To exit, type exit or press Ctrl+D)\n');
      prompt();
    });
    rl.on('close', () => void finish());
    rl.on('line', (line) => {
      if (stopWatch !== undefined) {
        stopWatch();
        return;
      }
      chain = chain.then(async () => {
        let more = true;
        try {
          more = await handle(line);
        } catch (error) {
          const e = error as { message: string; available?: string[] };
          write(`error: ${e.message}`);
          if (Array.isArray(e.available)) write(`available commands: ${e.available.join(', ')}`);
        }
        if (!more) void finish();
        else if (!closing) prompt();
      });
    });
  });
}
