import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Logger } from '@systemge/node';
import { loadConfigFile } from './config-file.js';
import { UsageError } from './errors.js';
import { startSystem, type RunningSystem } from './runner.js';

/** Exit codes of the `systemge` command. */
export const ExitCode = {
  /** Success. */
  ok: 0,
  /** Invalid configuration, or the remote command failed. */
  failed: 1,
  /** Wrong command line. */
  usage: 2,
  /** Nodes could not start, or the dashboard could not be reached or refused the token. */
  unavailable: 3,
} as const;

/** Where the command writes; replaceable for tests. */
export interface CLIIO {
  out(line: string): void;
  err(line: string): void;
  env: NodeJS.ProcessEnv;
  /** Resolves when the process is asked to stop (SIGINT/SIGTERM). */
  stopSignal(): Promise<string>;
}

const HELP: Record<string, string> = {
  main: `Usage: systemge <command> [options]

Commands:
  start <config>                      start the nodes (and dashboard) of a configuration file
  validate <config>                   check a configuration file and exit
  command <node> <cmd> [args...]      run a command on a node through a dashboard

Options:
  -h, --help      show help (also after a command: systemge start --help)
  -v, --version   show the version

Exit codes: 0 ok, 1 invalid configuration or failed command, 2 usage error,
3 nodes could not start or the dashboard is unreachable / refused the token.`,
  start: `Usage: systemge start <config> [--log-level <level>]

Starts every node of <config> (JSON or YAML) in this process, prints their addresses and the
dashboard URL, and runs until SIGINT or SIGTERM, then stops everything and exits 0.

Options:
  --log-level <level>   silent | error | warn | info | debug (default: warn), logs go to stderr as JSON lines`,
  validate: `Usage: systemge validate <config>

Checks <config> (JSON or YAML): every field, file references, duplicate names and ports.
Prints "valid" and exits 0, or prints the file, the field path and what was expected and exits 1.`,
  command: `Usage: systemge command <node> <cmd> [args...] --dashboard <url> [--token <token>]

Runs <cmd> with [args...] on <node> through the dashboard's HTTP API and prints the result.

Options:
  --dashboard <url>   dashboard address, e.g. http://127.0.0.1:7070 (or SYSTEMGE_DASHBOARD)
  --token <token>     dashboard token (or SYSTEMGE_DASHBOARD_TOKEN)`,
};

const LEVELS = ['silent', 'error', 'warn', 'info', 'debug'] as const;

function jsonLogger(level: (typeof LEVELS)[number], write: (line: string) => void, bindings: Record<string, unknown> = {}): Logger {
  const rank = LEVELS.indexOf(level);
  const at =
    (name: (typeof LEVELS)[number]) =>
    (obj: object | string, msg?: string): void => {
      if (LEVELS.indexOf(name) > rank || rank === 0) return;
      const fields = typeof obj === 'string' ? { msg: obj } : { ...obj, msg };
      write(JSON.stringify({ level: name, time: new Date().toISOString(), ...bindings, ...fields }));
    };
  return {
    trace: () => {},
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (more) => jsonLogger(level, write, { ...bindings, ...more }),
  };
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function describeSystem(system: RunningSystem): string[] {
  const lines: string[] = [];
  for (const { node, http, websocket } of system.nodes) {
    const parts = [`${node.name}`];
    if (node.address !== undefined) parts.push(`systemge ${node.address.host}:${node.address.port}`);
    if (http?.url !== undefined) parts.push(`http ${http.url}`);
    if (websocket?.url !== undefined) parts.push(`websocket ${websocket.url}`);
    lines.push(`  ${parts.join('  ')}`);
  }
  return lines;
}

async function start(file: string, level: (typeof LEVELS)[number], io: CLIIO): Promise<number> {
  const loaded = loadConfigFile(file, io.env);
  const logger = jsonLogger(level, io.err);
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

async function command(node: string, cmd: string, args: string[], dashboard: string, token: string | undefined, io: CLIIO): Promise<number> {
  let url: URL;
  try {
    url = new URL(`/api/nodes/${encodeURIComponent(node)}/command`, dashboard);
  } catch {
    throw new UsageError(`--dashboard must be a URL such as http://127.0.0.1:7070, got "${dashboard}"`);
  }
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
      body: JSON.stringify({ command: cmd, args }),
    });
  } catch (error) {
    io.err(`systemge: cannot reach the dashboard at ${url.origin}: ${(error as Error).message}`);
    return ExitCode.unavailable;
  }
  const body = (await response.json().catch(() => ({}))) as { result?: string; error?: string; commands?: string[] };
  if (response.ok) {
    io.out(body.result ?? '');
    return ExitCode.ok;
  }
  io.err(`systemge: ${body.error ?? `dashboard answered ${response.status}`}`);
  if (body.commands !== undefined) io.err(`available commands: ${body.commands.join(', ')}`);
  return response.status === 401 || response.status === 403 ? ExitCode.unavailable : ExitCode.failed;
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
    const help = HELP[sub];
    if (help === undefined || sub === 'main') throw new UsageError(`unknown command "${sub}"; try systemge --help`);
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        'log-level': { type: 'string' },
        dashboard: { type: 'string' },
        token: { type: 'string' },
      },
    });
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
      const level = values['log-level'] ?? 'warn';
      if (!(LEVELS as readonly string[]).includes(level)) throw new UsageError(`--log-level must be one of ${LEVELS.join(', ')}`);
      return await start(file, level as (typeof LEVELS)[number], io);
    }
    const [node, cmd, ...args] = positionals;
    if (node === undefined || cmd === undefined) throw new UsageError('usage: systemge command <node> <cmd> [args...] --dashboard <url>');
    const dashboard = values.dashboard ?? io.env.SYSTEMGE_DASHBOARD;
    if (dashboard === undefined) throw new UsageError('--dashboard <url> is required (or set SYSTEMGE_DASHBOARD)');
    return await command(node, cmd, args, dashboard, values.token ?? io.env.SYSTEMGE_DASHBOARD_TOKEN, io);
  } catch (error) {
    const e = error as { code?: string; message: string };
    if (e.code === 'SYSTEMGE_ERR_CLI_USAGE' || e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' || e.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      io.err(`systemge: ${e.message}`);
      return ExitCode.usage;
    }
    if (e.code === 'SYSTEMGE_ERR_CONFIG_FILE') {
      io.err(`systemge: invalid configuration: ${e.message}`);
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
