export { childLogger, type Logger, type LogFn, silentLogger } from '@systemge/protocol';
