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

/** `systemge command` would send the dashboard token over plain HTTP to a non-loopback host. */
export class InsecureTokenError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_CLI_INSECURE_TOKEN';
  readonly url: string;
  constructor(url: string) {
    super(
      InsecureTokenError.code,
      `refusing to send the dashboard token in clear text to ${url} (plain http, not a loopback host): ` +
        'serve the dashboard over https (dashboard.https) and use an https:// URL, or pass --allow-insecure',
    );
    this.url = url;
  }
}
