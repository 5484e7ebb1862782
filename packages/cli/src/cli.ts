import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { parseArgs } from 'node:util';
import { isLoopbackHost, type Logger } from '@systemge/node';
import { loadConfigFile } from './config-file.js';
import { InsecureTokenError, UsageError } from './errors.js';
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

Runs every check "systemge start" runs short of binding ports: every field, file references and
certificates, duplicate names and ports, HTTP/WebSocket/dashboard options, the dashboard token
rule and dashboard links that would send a token in clear text. Prints "valid" and exits 0, or
prints the file, the field path and what was expected and exits 1.`,
  command: `Usage: systemge command <node> <cmd> [args...] --dashboard <url> [--token <token>]

Runs <cmd> with [args...] on <node> through the dashboard's HTTP API and prints the result.

Options:
  --dashboard <url>   dashboard address, e.g. https://ops.example.com:8443 (or SYSTEMGE_DASHBOARD)
  --token <token>     dashboard token (or SYSTEMGE_DASHBOARD_TOKEN)
  --ca <file>         PEM CA that verifies an https dashboard (default: the system's CAs)
  --cert <file>       PEM client certificate, for a dashboard that requires one (with --key)
  --key <file>        PEM key of --cert
  --allow-insecure    send the token over plain http to a host that is not loopback (refused otherwise)`,
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

/** How `systemge command` reaches the dashboard. */
interface DashboardAccess {
  url: string;
  token: string | undefined;
  ca: string | undefined;
  cert: string | undefined;
  key: string | undefined;
  allowInsecure: boolean;
}

function readPEM(flag: string, file: string | undefined): string | undefined {
  if (file === undefined) return undefined;
  try {
    return readFileSync(file, 'utf8');
  } catch (cause) {
    throw new UsageError(`${flag}: cannot read ${file}: ${(cause as Error).message}`);
  }
}

/** POSTs JSON over http or https (with an optional CA and client certificate). */
function postJSON(url: URL, body: string, headers: Record<string, string>, access: DashboardAccess): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const tls = url.protocol === 'https:' ? { ca: readPEM('--ca', access.ca), cert: readPEM('--cert', access.cert), key: readPEM('--key', access.key) } : {};
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, ...tls }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(30_000, () => req.destroy(new Error('no answer within 30 s')));
    req.on('error', reject);
    req.end(body);
  });
}

async function command(node: string, cmd: string, args: string[], access: DashboardAccess, io: CLIIO): Promise<number> {
  let url: URL;
  try {
    url = new URL(`/api/nodes/${encodeURIComponent(node)}/command`, access.url);
  } catch {
    throw new UsageError(`--dashboard must be a URL such as https://127.0.0.1:7070, got "${access.url}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--dashboard must be an http:// or https:// URL, got "${access.url}"`);
  if ((access.cert === undefined) !== (access.key === undefined)) throw new UsageError('--cert and --key go together');
  const { token } = access;
  if (token !== undefined && url.protocol === 'http:' && !access.allowInsecure && !isLoopbackHost(url.hostname)) {
    throw new InsecureTokenError(url.origin);
  }
  let response: { status: number; text: string };
  try {
    response = await postJSON(
      url,
      JSON.stringify({ command: cmd, args }),
      { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
      access,
    );
  } catch (error) {
    if ((error as { code?: string }).code === UsageError.code) throw error;
    io.err(`systemge: cannot reach the dashboard at ${url.origin}: ${(error as Error).message}`);
    return ExitCode.unavailable;
  }
  let body: { result?: string; error?: string; commands?: string[] } = {};
  try {
    body = JSON.parse(response.text) as typeof body;
  } catch {
    // Not JSON: report the status.
  }
  if (response.status >= 200 && response.status < 300) {
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
    const help = Object.hasOwn(HELP, sub) ? HELP[sub] : undefined;
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
        ca: { type: 'string' },
        cert: { type: 'string' },
        key: { type: 'string' },
        'allow-insecure': { type: 'boolean' },
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
    return await command(
      node,
      cmd,
      args,
      {
        url: dashboard,
        token: values.token ?? io.env.SYSTEMGE_DASHBOARD_TOKEN,
        ca: values.ca,
        cert: values.cert,
        key: values.key,
        allowInsecure: values['allow-insecure'] === true,
      },
      io,
    );
  } catch (error) {
    const e = error as { code?: string; message: string };
    if (e.code === 'SYSTEMGE_ERR_CLI_USAGE' || e.code === InsecureTokenError.code || e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' || e.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
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
