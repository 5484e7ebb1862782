export { main, processIO, ExitCode, type CLIIO } from './cli.js';
export {
  loadConfigFile,
  validateConfig,
  type LoadedConfig,
  type SystemgeFile,
  type NodeFileConfig,
  type TransportFileConfig,
  type HTTPFileConfig,
  type HTTPSFileConfig,
  type WebSocketFileConfig,
  type DashboardFileConfig,
  type DashboardLinkFileConfig,
  type CommandsFileConfig,
  type DashboardHTTPSFileConfig,
  type DiscoveryFileConfig,
} from './config-file.js';
export {
  SystemgeFileSchema,
  NodeFileSchema,
  TransportFileSchema,
  HTTPFileSchema,
  WebSocketFileSchema,
  DashboardFileSchema,
  DashboardLinkFileSchema,
  CommandsFileSchema,
  DiscoveryFileSchema,
} from './file-schema.js';
export {
  startSystem,
  type RunningSystem,
  type RunningNode,
  type ApplicationContext,
  type ApplicationModule,
} from './runner.js';
export {
  ConfigFileError,
  type ConfigFileIssue,
  InsecureTokenError,
  UsageError,
  RemoteCommandsOffError,
  NodeCommandError,
  InitError,
} from './errors.js';
export { connectToNode, type NodeAccess, type NodeClient } from './node-client.js';
export { runRepl, watchLine, type ReplIO, type ReplTarget } from './repl.js';
export { initProject, type InitOptions } from './init.js';
export { formatResult, cliLogger, prettyLine, type LogLevel, type LogFormat } from './format.js';
