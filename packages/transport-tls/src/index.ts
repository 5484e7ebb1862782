export { tlsTransport, type TLSTransportOptions } from './tls-transport.js';
export type { PEM } from './credentials.js';
export { TLSConfigError, TLSHandshakeError, TLSVerificationError } from './tls-errors.js';
