import { SystemgeError } from '@systemge/protocol';

/** A configuration file is unreadable or invalid; `file` and `path` say where. */
export class ConfigFileError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_CONFIG_FILE';
  readonly file: string;
  readonly path: string;
  constructor(file: string, path: string, message: string) {
    super(ConfigFileError.code, `${file}${path === '' ? '' : `: ${path}`}: ${message}`);
    this.file = file;
    this.path = path;
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
