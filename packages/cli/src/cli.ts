import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { CommandResult } from '@systemge/node';
import { loadConfigFile } from './config-file.js';
import { type DashboardAccess, dashboardClient } from './dashboard-client.js';
import { InsecureTokenError, NodeCommandError, RemoteCommandsOffError, UsageError } from './errors.js';
import { cliLogger, formatResult, LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from './format.js';
import { initProject } from './init.js';
import { connectToNode, type NodeAccess } from './node-client.js';
import { runRepl, type ReplIO } from './repl.js';
import { startSystem, type RunningSystem } from './runner.js';

/** Exit codes of the `systemge` command. */
export const ExitCode = {
  /** Success. */
  ok: 0,
  /** Invalid configuration, or the remote command failed. */
  failed: 1,
  /** Wrong command line. */
  usage: 2,
  /** Nodes could not start, or the dashboard / node could not be reached or refused the token. */
  unavailable: 3,
} as const;

/** Where the command writes; replaceable for tests. */
export interface CLIIO {
  out(line: string): void;
  err(line: string): void;
  env: NodeJS.ProcessEnv;
  /** Resolves when the process is asked to stop (SIGINT/SIGTERM). */
  stopSignal(): Promise<string>;
  /** Whether `err` writes to a terminal (logs are then human-readable lines). Default false. */
  errIsTTY?: boolean;
  /** The terminal `systemge repl` reads from and writes to. */
  terminal?: ReplIO;
}

const NODE_FLAGS = `  --node <host:port>    the node's Systemge address (or SYSTEMGE_NODE); the node must have commands.remote
  --token <token>       handshake token: the node's auth.token, or the --name entry of its auth.peerTokens (or SYSTEMGE_TOKEN)
  --name <peer>         name announced in the handshake (default systemge-cli-<random>), for auth.peerTokens and commands.peers
  --tls                 connect over TLS (implied by --ca / --cert)
  --ca <file>           PEM CA that verifies the node's certificate
  --cert <file>         PEM client certificate, for a node that requires one (with --key)
  --key <file>          PEM key of --cert
  --server-name <name>  TLS server name, when it differs from the host
  --allow-insecure      send the token over plain TCP to a host that is not loopback (refused otherwise)`;

const DASHBOARD_FLAGS = `  --dashboard <url>     dashboard address, e.g. https://ops.example.com:8443 (or SYSTEMGE_DASHBOARD)
  --token <token>       dashboard token (or SYSTEMGE_DASHBOARD_TOKEN)
  --ca <file>           PEM CA that verifies an https dashboard (default: the system's CAs)
  --cert <file>         PEM client certificate, for a dashboard that requires one (with --key)
  --key <file>          PEM key of --cert
  --allow-insecure      send the token over plain http to a host that is not loopback (refused otherwise)`;

const HELP: Record<string, string> = {
  main: `Usage: systemge <command> [options]

Commands:
  start <config>                          start the nodes (and dashboard) of a configuration file
  validate <config>                       check a configuration file and exit
  command <node> <cmd> [args...]          run a command on a node through a dashboard (--dashboard)
  command --node <host:port> <cmd> [args] run a command on a node directly over its Systemge port
  repl                                    interactive console on a dashboard or on nodes
  init <dir>                              create a new project: a node, a config file, a test, a README

Options:
  -h, --help      show help (also after a command: systemge start --help)
  -v, --version   show the version

Exit codes: 0 ok, 1 invalid configuration or failed command, 2 usage error,
3 nodes could not start or the dashboard / node is unreachable or refused the token.`,
  start: `Usage: systemge start <config> [--log-level <level>] [--log-format pretty|json]

Starts every node of <config> (JSON or YAML) in this process, prints their addresses and the
dashboard URL, and runs until SIGINT or SIGTERM, then stops everything and exits 0. While an
endpoint cannot be reached it says so: once at warn, then at most every 10 s at info (attempt,
next retry).

Options:
  --log-level <level>   silent | error | warn | info | debug (default: info); logs go to stderr
  --log-format <fmt>    pretty (one readable line per entry; the default on a terminal)
                        | json (pino-style JSON lines; the default otherwise)`,
  validate: `Usage: systemge validate <config>

Runs every check "systemge start" runs short of binding ports: every field, file references and
certificates, duplicate names and ports, HTTP/WebSocket/dashboard options, the dashboard token
rule and dashboard links that would send a token in clear text. Prints "valid" and exits 0, or
prints the file, the field path and what was expected and exits 1.`,
  command: `Usage: systemge command <node> <cmd> [args...] --dashboard <url> [--token <token>]
       systemge command --node <host:port> <cmd> [args...] [--token <token>] [--tls --ca <file>]

Runs <cmd> with [args...] on a node and prints the result: text as it is, data (stats,
connections, topics, status...) as indented JSON.

Through a dashboard:
${DASHBOARD_FLAGS}

Directly, as a peer of the node (no dashboard needed):
${NODE_FLAGS}`,
  repl: `Usage: systemge repl --dashboard <url> [--token <token>]
       systemge repl --node <host:port> [--node <host:port> ...] [--token <token>] [--tls --ca <file>]

An interactive console with history and tab completion. In it:
  nodes                    list the nodes (status, address)
  use <node>               pick the node the next lines go to (the prompt shows it)
  <cmd> [args...]          run a node command (stats, connections, status, your own...)
  call <topic> <payload>   sync request to the node; prints every response (--node only)
  emit <topic> <payload>   async message to the node (--node only)
  watch [node]             live message and byte rates, refreshed every second, until Enter or Ctrl+C
  help, exit               (Ctrl+D exits too)

Through a dashboard:
${DASHBOARD_FLAGS}

Directly, as a peer of the nodes (each needs commands.remote for commands and watch):
${NODE_FLAGS}`,
  init: `Usage: systemge init <dir> [--from-tarballs <dir>] [--no-install]

Creates a new project in <dir> (which must not exist or be empty): an application module, a
systemge.yaml with two nodes, a test that starts them and checks a request/response, a README,
and a package.json. Then runs "npm install" there (unless --no-install).

Options:
  --from-tarballs <dir>  install the @systemge packages from the .tgz files in <dir> (made with
                         "pnpm pack") instead of the npm registry (or SYSTEMGE_TARBALLS)
  --no-install           write the files only`,
};

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function describeSystem(system: RunningSystem): string[] {
  const lines: string[] = [];
  for (const { node, http, websocket, discovery } of system.nodes) {
    const parts = [`${node.name}`];
    if (node.address !== undefined) parts.push(`systemge ${node.address.host}:${node.address.port}`);
    if (http?.url !== undefined) parts.push(`http ${http.url}`);
    if (websocket?.url !== undefined) parts.push(`websocket ${websocket.url}`);
    if (discovery !== undefined) parts.push(`discovery ${discovery.kind}${discovery.degraded ? ' (unreachable, retrying)' : ''}`);
    lines.push(`  ${parts.join('  ')}`);
  }
  return lines;
}

async function start(file: string, level: LogLevel, format: LogFormat, io: CLIIO): Promise<number> {
  const loaded = loadConfigFile(file, io.env);
  const logger = cliLogger(level, format, io.err, { color: format === 'pretty' && io.errIsTTY === true && io.env.NO_COLOR === undefined });
  const count = loaded.config.nodes.length;
  io.out(`systemge: starting ${count} node${count === 1 ? '' : 's'} from ${file}`);
  let system: RunningSystem;
  try {
    system = await startSystem(loaded, logger);
  } catch (error) {
    io.err(`systemge: could not start: ${(error as Error).message}`);
    return ExitCode.unavailable;
  }
  io.out(`systemge: started ${system.nodes.length} node${system.nodes.length === 1 ? '' : 's'} from ${file}`);
  for (const line of describeSystem(system)) io.out(line);
  if (system.dashboard?.url !== undefined) io.out(`dashboard: ${system.dashboard.url}`);
  if (system.dashboard?.systemgeAddress !== undefined) {
    const a = system.dashboard.systemgeAddress;
    io.out(`  nodes in other processes join the dashboard over Systemge at ${a.host}:${a.port}`);
  }
  const signal = await io.stopSignal();
  io.out(`systemge: ${signal} received, stopping`);
  await system.stop();
  io.out('systemge: stopped');
  return ExitCode.ok;
}

/** Runs a command through a dashboard's HTTP API. */
async function commandViaDashboard(node: string, cmd: string, args: string[], access: DashboardAccess, io: CLIIO): Promise<number> {
  const dashboard = dashboardClient(access);
  let response: Awaited<ReturnType<typeof dashboard.request>>;
  try {
    response = await dashboard.request('POST', `/api/nodes/${encodeURIComponent(node)}/command`, { command: cmd, args });
  } catch (error) {
    if ((error as { code?: string }).code === UsageError.code) throw error;
    io.err(`systemge: cannot reach the dashboard at ${dashboard.origin}: ${(error as Error).message}`);
    return ExitCode.unavailable;
  }
  const body = response.body as { result?: CommandResult; error?: string; commands?: string[] };
  if (response.status >= 200 && response.status < 300) {
    io.out(formatResult(body.result));
    return ExitCode.ok;
  }
  io.err(`systemge: ${body.error ?? `dashboard answered ${response.status}`}`);
  if (body.commands !== undefined) io.err(`available commands: ${body.commands.join(', ')}`);
  return response.status === 401 || response.status === 403 ? ExitCode.unavailable : ExitCode.failed;
}

/** Runs a command on a node over its Systemge port, as a peer. */
async function commandViaNode(cmd: string, args: string[], access: NodeAccess, io: CLIIO): Promise<number> {
  let client: Awaited<ReturnType<typeof connectToNode>>;
  try {
    client = await connectToNode(access);
  } catch (error) {
    const e = error as { code?: string; message: string };
    if (e.code === UsageError.code || e.code === InsecureTokenError.code) throw error;
    io.err(`systemge: cannot reach the node at ${access.address}: ${e.message}`);
    return ExitCode.unavailable;
  }
  try {
    io.out(formatResult(await client.run(cmd, args)));
    return ExitCode.ok;
  } catch (error) {
    const e = error as { code?: string; message: string };
    io.err(`systemge: ${e.message}`);
    if (error instanceof NodeCommandError && error.available !== undefined) io.err(`available commands: ${error.available.join(', ')}`);
    return e.code === NodeCommandError.code || e.code === RemoteCommandsOffError.code ? ExitCode.failed : ExitCode.unavailable;
  } finally {
    await client.close().catch(() => {});
  }
}

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
  dashboard: { type: 'string' },
  node: { type: 'string', multiple: true },
  token: { type: 'string' },
  name: { type: 'string' },
  tls: { type: 'boolean' },
  ca: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  'server-name': { type: 'string' },
  'allow-insecure': { type: 'boolean' },
  'from-tarballs': { type: 'string' },
  'no-install': { type: 'boolean' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true }>>['values'];

function nodeAccess(address: string, values: Values, env: NodeJS.ProcessEnv): NodeAccess {
  return {
    address,
    token: values.token ?? env.SYSTEMGE_TOKEN,
    name: values.name,
    tls: values.tls === true,
    ca: values.ca,
    cert: values.cert,
    key: values.key,
    serverName: values['server-name'],
    allowInsecure: values['allow-insecure'] === true,
    timeoutMs: 10_000,
  };
}

function dashboardAccess(url: string, values: Values, env: NodeJS.ProcessEnv): DashboardAccess {
  return {
    url,
    token: values.token ?? env.SYSTEMGE_DASHBOARD_TOKEN,
    ca: values.ca,
    cert: values.cert,
    key: values.key,
    allowInsecure: values['allow-insecure'] === true,
  };
}

/** Runs the `systemge` command line. Returns the exit code. */
export async function main(argv: string[], io: CLIIO): Promise<number> {
  try {
    const [sub, ...rest] = argv;
    if (sub === undefined || sub === '-h' || sub === '--help' || sub === 'help') {
      io.out(HELP.main as string);
      return sub === undefined ? ExitCode.usage : ExitCode.ok;
    }
    if (sub === '-v' || sub === '--version') {
      io.out(version());
      return ExitCode.ok;
    }
    const help = Object.hasOwn(HELP, sub) ? HELP[sub] : undefined;
    if (help === undefined || sub === 'main') throw new UsageError(`unknown command "${sub}"; try systemge --help`);
    const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, strict: true, options: OPTIONS });
    if (values.help === true) {
      io.out(help);
      return ExitCode.ok;
    }
    if (sub === 'validate' || sub === 'start') {
      const [file, extra] = positionals;
      if (file === undefined || extra !== undefined) throw new UsageError(`usage: systemge ${sub} <config>`);
      if (sub === 'validate') {
        const loaded = loadConfigFile(file, io.env);
        io.out(`valid: ${file} (${loaded.config.nodes.length} node${loaded.config.nodes.length === 1 ? '' : 's'})`);
        return ExitCode.ok;
      }
      const level = values['log-level'] ?? 'info';
      if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
      const format = values['log-format'] ?? (io.errIsTTY === true ? 'pretty' : 'json');
      if (!(LOG_FORMATS as readonly string[]).includes(format))
        throw new UsageError(`--log-format must be one of ${LOG_FORMATS.join(', ')}`);
      return await start(file, level as LogLevel, format as LogFormat, io);
    }
    if (sub === 'init') {
      const [dir, extra] = positionals;
      if (dir === undefined || extra !== undefined)
        throw new UsageError('usage: systemge init <dir> [--from-tarballs <dir>] [--no-install]');
      return await initProject(dir, {
        fromTarballs: values['from-tarballs'] ?? io.env.SYSTEMGE_TARBALLS,
        install: values['no-install'] !== true,
        io,
      });
    }
    const nodes = values.node ?? (io.env.SYSTEMGE_NODE === undefined ? [] : [io.env.SYSTEMGE_NODE]);
    const dashboardURL = values.dashboard ?? (nodes.length === 0 ? io.env.SYSTEMGE_DASHBOARD : undefined);
    if (nodes.length > 0 && values.dashboard !== undefined) throw new UsageError('give --node or --dashboard, not both');
    if (sub === 'repl') {
      if (positionals.length > 0) throw new UsageError('usage: systemge repl --dashboard <url> | --node <host:port> [--node …]');
      if (io.terminal === undefined) throw new UsageError('systemge repl needs a terminal');
      if (nodes.length > 0) return await runRepl({ kind: 'node', nodes: nodes.map((n) => nodeAccess(n, values, io.env)) }, io.terminal);
      if (dashboardURL === undefined)
        throw new UsageError('--dashboard <url> or --node <host:port> is required (or set SYSTEMGE_DASHBOARD / SYSTEMGE_NODE)');
      return await runRepl({ kind: 'dashboard', access: dashboardAccess(dashboardURL, values, io.env) }, io.terminal);
    }
    // command
    if (nodes.length > 1) throw new UsageError('systemge command takes one --node');
    if (nodes.length === 1) {
      const [cmd, ...args] = positionals;
      if (cmd === undefined) throw new UsageError('usage: systemge command --node <host:port> <cmd> [args...]');
      return await commandViaNode(cmd, args, nodeAccess(nodes[0] as string, values, io.env), io);
    }
    const [node, cmd, ...args] = positionals;
    if (node === undefined || cmd === undefined)
      throw new UsageError(
        'usage: systemge command <node> <cmd> [args...] --dashboard <url>, or systemge command --node <host:port> <cmd> [args...]',
      );
    if (dashboardURL === undefined)
      throw new UsageError('--dashboard <url> or --node <host:port> is required (or set SYSTEMGE_DASHBOARD / SYSTEMGE_NODE)');
    return await commandViaDashboard(node, cmd, args, dashboardAccess(dashboardURL, values, io.env), io);
  } catch (error) {
    const e = error as { code?: string; message: string };
    if (
      e.code === 'SYSTEMGE_ERR_CLI_USAGE' ||
      e.code === InsecureTokenError.code ||
      e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ||
      e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' ||
      e.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL'
    ) {
      io.err(`systemge: ${e.message}`);
      return ExitCode.usage;
    }
    if (e.code === 'SYSTEMGE_ERR_CONFIG_FILE') {
      const { issues = [] } = error as { issues?: readonly unknown[] };
      if (issues.length > 1) io.err(`systemge: invalid configuration: ${issues.length} problems`);
      io.err(issues.length > 1 ? e.message : `systemge: invalid configuration: ${e.message}`);
      return ExitCode.failed;
    }
    io.err(`systemge: ${e.message}`);
    return ExitCode.unavailable;
  }
}

/** The IO of a real process: stdout, stderr, environment, SIGINT/SIGTERM. */
export function processIO(): CLIIO {
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    env: process.env,
    errIsTTY: process.stderr.isTTY === true,
    terminal: { input: process.stdin, output: process.stdout },
    stopSignal: () =>
      new Promise((resolve) => {
        const on = (signal: string): void => {
          process.off('SIGINT', on);
          process.off('SIGTERM', on);
          resolve(signal);
        };
        process.on('SIGINT', on);
        process.on('SIGTERM', on);
      }),
  };
}
