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
  type DashboardHTTPSFileConfig,
} from './config-file.js';
export {
  startSystem,
  type RunningSystem,
  type RunningNode,
  type ApplicationContext,
  type ApplicationModule,
} from './runner.js';
export { ConfigFileError, InsecureTokenError, UsageError } from './errors.js';
