import { SystemgeError, type SystemgeErrorOptions } from '@systemge/protocol';

/** One problem of a configuration file: the field path (`nodes[0].sync.timeoutMs`, `''` for the file) and what is wrong. */
export interface ConfigFileIssue {
  path: string;
  message: string;
}

/**
 * A configuration file is unreadable or invalid. `issues` lists every problem found (each with its
 * field path); `file` is the absolute path of the file; `path` is the first issue's. The message
 * has one line per issue: `<file>: <path>: <problem>`.
 */
export class ConfigFileError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_CONFIG_FILE';
  readonly file: string;
  readonly path: string;
  readonly issues: readonly ConfigFileIssue[];
  constructor(file: string, path: string, message: string, options?: SystemgeErrorOptions & { issues?: readonly ConfigFileIssue[] }) {
    const issues = [{ path, message }, ...(options?.issues ?? [])];
    super(ConfigFileError.code, issues.map((i) => `${file}${i.path === '' ? '' : `: ${i.path}`}: ${i.message}`).join('\n'), options);
    this.file = file;
    this.path = path;
    this.issues = issues;
  }

  /** One error listing all of `issues` (at least one) of `file`. */
  static of(file: string, issues: readonly ConfigFileIssue[]): ConfigFileError {
    const [first, ...rest] = issues;
    if (first === undefined) throw new RangeError('ConfigFileError.of needs at least one issue');
    return new ConfigFileError(file, first.path, first.message, { issues: rest });
  }
}

/** The command line is wrong (unknown command, missing argument, unknown flag). */
export class UsageError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_CLI_USAGE';
  constructor(message: string) {
    super(UsageError.code, message);
  }
}

/** `systemge command` would send a token in clear text (plain http or TCP) to a non-loopback host. */
export class InsecureTokenError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_CLI_INSECURE_TOKEN';
  readonly url: string;
  constructor(url: string, to: 'dashboard' | 'node' = 'dashboard') {
    super(
      InsecureTokenError.code,
      to === 'dashboard'
        ? `refusing to send the dashboard token in clear text to ${url} (plain http, not a loopback host): ` +
            'serve the dashboard over https (dashboard.https) and use an https:// URL, or pass --allow-insecure'
        : `refusing to send the node token in clear text to ${url} (plain TCP, not a loopback host): ` +
            'give the node a TLS transport and pass --tls (with --ca), or pass --allow-insecure',
    );
    this.url = url;
  }
}

/** The node was reached but runs no command for its peers (no `commands.remote` / `remoteCommands()`). */
export class RemoteCommandsOffError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_CLI_REMOTE_COMMANDS_OFF';
  readonly node: string;
  constructor(node: string, address: string) {
    super(
      RemoteCommandsOffError.code,
      `node "${node}" at ${address} does not accept commands from peers: set "commands": { "remote": true } on it ` +
        '(or add remoteCommands() to its plugins), or go through a dashboard with --dashboard',
    );
    this.node = node;
  }
}

/** A command sent to a node over its Systemge port failed there; `remoteCode` is the node's error code. */
export class NodeCommandError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_CLI_COMMAND_FAILED';
  readonly node: string;
  readonly command: string;
  readonly remoteCode: string | undefined;
  readonly available: string[] | undefined;
  constructor(node: string, command: string, message: string, remoteCode: string | undefined, available: string[] | undefined) {
    super(NodeCommandError.code, `command "${command}" on node "${node}" failed: ${message}`);
    this.node = node;
    this.command = command;
    this.remoteCode = remoteCode;
    this.available = available;
  }
}

/** `systemge init` could not prepare the project (a tarball is unreadable). */
export class InitError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_CLI_INIT';
  constructor(message: string) {
    super(InitError.code, message);
  }
}
