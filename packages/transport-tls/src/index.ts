export { tlsTransport, type TLSTransportOptions, type TLSLogger } from './tls-transport.js';
export type { PEM } from './credentials.js';
export { TLSConfigError, TLSHandshakeError, TLSVerificationError } from './tls-errors.js';
