import * as net from 'node:net';
import * as tls from 'node:tls';
import {
  createStreamConnection,
  DialError,
  ListenError,
  listenOnSockets,
  resolveLimits,
  type Connection,
  type DialOptions,
  type DialTarget,
  type Listener,
  type ListenOptions,
  type Logger,
  type PeerCertificateInfo,
  type RemoteAddress,
  type SystemgeError,
  type Transport,
} from '@systemge/protocol';
import { loadPEM, loadPEMList, type PEM } from './credentials.js';
import { describeVerifyCode, isVerifyCode, TLSConfigError, TLSHandshakeError, TLSVerificationError } from './tls-errors.js';

/** Options of `tlsTransport()`. */
export interface TLSTransportOptions {
  /**
   * This side's certificate chain: PEM text or bytes, or the path of a PEM file.
   * Required to listen; presented to servers that ask for a client certificate when dialing.
   * Default: none.
   */
  cert?: PEM;
  /** Path of a PEM file holding the certificate chain; alternative to `cert`. */
  certFile?: string;
  /** Private key of `cert`: PEM text or bytes, or the path of a PEM file. Default: none. */
  key?: PEM;
  /** Path of a PEM file holding the private key; alternative to `key`. */
  keyFile?: string;
  /** Passphrase of an encrypted `key`. Default: none. */
  passphrase?: string;
  /**
   * CA certificate(s) that verify peers: PEM text or bytes, or paths of PEM files.
   * A dial target's own `ca` replaces it for that target. Default: Node's bundled root CAs.
   */
  ca?: PEM | PEM[];
  /** Path(s) of PEM files holding CA certificates; alternative to `ca`. */
  caFile?: string | string[];
  /**
   * Mutual TLS: a listener asks every client for a certificate and, with `rejectUnauthorized`,
   * refuses clients without one that `ca` verifies. Requires `ca`/`caFile`. Default false.
   */
  requestClientCert?: boolean;
  /**
   * Refuse peers whose certificate does not verify (and, when dialing, whose certificate does not
   * match the server name). Turning it off logs a warning. Default true.
   */
  rejectUnauthorized?: boolean;
  /** Lowest TLS version accepted on both sides; older versions are refused. Default `'TLSv1.2'`. */
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** OpenSSL cipher list for TLS 1.2 and lower. Default: Node's default list. */
  ciphers?: string;
  /** A listener closes a socket whose TLS handshake has not finished within this time, ms. Default 10000. */
  handshakeTimeoutMs?: number;
  /** Disable Nagle's algorithm (frames are already batched per tick). Default true. */
  noDelay?: boolean;
  /** TCP keep-alive initial delay, ms; 0 turns keep-alive off. Default 0 (heartbeats detect dead peers). */
  keepAliveMs?: number;
  /** Listen backlog. Default 511. */
  backlog?: number;
  /** Receives the warning about `rejectUnauthorized: false`. Default: a process warning. */
  logger?: Logger;
}

const MIN_VERSIONS = new Set(['TLSv1.2', 'TLSv1.3']);
const NO_PEER_CERTIFICATE = 'NO_PEER_CERTIFICATE';

interface Credentials {
  cert: Buffer | undefined;
  key: Buffer | undefined;
  passphrase: string | undefined;
  ca: Buffer[] | undefined;
  minVersion: tls.SecureVersion;
  ciphers: string | undefined;
}

interface PendingHandshake {
  readonly raw: net.Socket;
  readonly remote: RemoteAddress;
  readonly timer: NodeJS.Timeout;
  settled: boolean;
}

/** A `Transport` over TLS (`node:tls`), with optional mutual TLS. */
export function tlsTransport(options: TLSTransportOptions = {}): Transport {
  const noDelay = options.noDelay ?? true;
  const keepAliveMs = options.keepAliveMs ?? 0;
  const backlog = options.backlog ?? 511;
  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? 10_000;
  const requestClientCert = options.requestClientCert ?? false;
  const rejectUnauthorized = options.rejectUnauthorized ?? true;
  const minVersion = options.minVersion ?? 'TLSv1.2';

  if (!MIN_VERSIONS.has(minVersion)) {
    throw new TLSConfigError('minVersion', `must be 'TLSv1.2' or 'TLSv1.3', got ${JSON.stringify(minVersion)}`);
  }
  if (!Number.isFinite(handshakeTimeoutMs) || handshakeTimeoutMs <= 0) {
    throw new TLSConfigError('handshakeTimeoutMs', `must be a positive number of ms, got ${String(handshakeTimeoutMs)}`);
  }
  const creds: Credentials = {
    cert: loadPEM('cert', options.cert, 'certFile', options.certFile),
    key: loadPEM('key', options.key, 'keyFile', options.keyFile),
    passphrase: options.passphrase,
    ca: loadPEMList('ca', options.ca, 'caFile', options.caFile),
    minVersion,
    ciphers: options.ciphers,
  };
  if ((creds.cert === undefined) !== (creds.key === undefined)) {
    const missing = creds.cert === undefined ? 'cert' : 'key';
    throw new TLSConfigError(missing, `cert and key must be given together; ${missing} is missing`);
  }
  if (requestClientCert && creds.ca === undefined) {
    // Public root CAs would let any publicly issued certificate in.
    throw new TLSConfigError('ca', 'requestClientCert needs ca or caFile to verify client certificates');
  }
  // Parse everything now so a bad certificate or key fails at construction, not at the first dial.
  const clientContext = createContext('cert', creds, creds.ca);
  if (options.rejectUnauthorized === false) {
    const msg = 'TLS peer certificates are NOT verified (rejectUnauthorized: false): any peer can impersonate another';
    if (options.logger !== undefined) options.logger.warn({ transport: 'tls', rejectUnauthorized: false }, msg);
    else process.emitWarning(msg, { code: 'SYSTEMGE_TLS_INSECURE' });
  }

  function configure(socket: net.Socket): void {
    socket.setNoDelay(noDelay);
    if (keepAliveMs > 0) socket.setKeepAlive(true, keepAliveMs);
  }

  return {
    name: 'tls',
    verifiesPeers: requestClientCert && rejectUnauthorized,

    listen(listenOptions: ListenOptions): Promise<Listener> {
      const limits = resolveLimits(listenOptions.limits);
      const host = listenOptions.host ?? '127.0.0.1';
      const requestedPort = listenOptions.port ?? 0;
      if (creds.cert === undefined || creds.key === undefined) {
        return Promise.reject(new ListenError(`${host}:${requestedPort}`, 'a TLS listener needs cert (or certFile) and key (or keyFile)'));
      }
      let handshaker: tls.Server;
      try {
        // Never listens: it only runs handshakes on sockets the accept filter let through.
        // Verification is checked in 'secureConnection' so every refusal is reported with its reason.
        handshaker = tls.createServer({
          cert: creds.cert,
          key: creds.key,
          passphrase: creds.passphrase,
          ca: creds.ca,
          minVersion: creds.minVersion,
          ciphers: creds.ciphers,
          requestCert: requestClientCert,
          rejectUnauthorized: false,
          handshakeTimeout: 0,
        });
      } catch (err) {
        return Promise.reject(new ListenError(`${host}:${requestedPort}`, (err as Error).message, { cause: err }));
      }
      const pending = new Map<string, PendingHandshake>();
      let closing = false;

      const refuse = (hs: PendingHandshake, reason: string, error: SystemgeError): void => {
        if (hs.settled) return;
        hs.settled = true;
        clearTimeout(hs.timer);
        if (!closing) listenOptions.onRefused?.(hs.remote, reason, error);
      };

      handshaker.on('tlsClientError', (err: Error & { code?: string; reason?: string }, socket: tls.TLSSocket) => {
        socket.destroy();
        // After a reset the socket no longer knows its peer; the raw socket's 'close' reports it then.
        const hs = pending.get(peerKey(socket.remoteAddress, socket.remotePort));
        if (hs === undefined) return;
        const { reason, error } = handshakeFailure(err);
        refuse(hs, reason, error);
      });

      handshaker.on('secureConnection', (socket: tls.TLSSocket) => {
        const hs = pending.get(peerKey(socket.remoteAddress, socket.remotePort));
        if (hs === undefined || hs.settled || closing) {
          socket.destroy();
          return;
        }
        let peerCertificate: PeerCertificateInfo | undefined;
        if (requestClientCert) {
          const cert = socket.getPeerCertificate();
          const presented = cert !== null && Object.keys(cert).length > 0;
          if (socket.authorized) {
            peerCertificate = describeCertificate(cert);
          } else if (rejectUnauthorized) {
            const code = presented ? String(socket.authorizationError) : NO_PEER_CERTIFICATE;
            const text = presented ? describeVerifyCode(code) : 'peer did not return a certificate';
            socket.destroy();
            refuse(
              hs,
              `certificate verification failed: ${text}`,
              new TLSVerificationError(code, `client certificate verification failed: ${text}`),
            );
            return;
          }
        }
        hs.settled = true;
        clearTimeout(hs.timer);
        pending.delete(peerKey(hs.remote.address, hs.remote.port));
        const connection = createStreamConnection(
          socket,
          {
            transport: 'tls',
            remoteAddress: hs.remote.address,
            remotePort: hs.remote.port,
            remoteFamily: hs.remote.family,
            localAddress: hs.raw.localAddress ?? '',
            localPort: hs.raw.localPort ?? 0,
            secure: true,
            peerCertificate,
          },
          { limits, highWaterMark: listenOptions.highWaterMark },
        );
        listenOptions.onConnection(connection);
      });

      return listenOnSockets(listenOptions, {
        transport: 'tls',
        backlog,
        // The accept filter ran on the raw socket: a refused peer cost no TLS work.
        onSocket: (raw, remote) => {
          configure(raw);
          const key = peerKey(remote.address, remote.port);
          const hs: PendingHandshake = {
            raw,
            remote,
            settled: false,
            timer: setTimeout(() => {
              const reason = `TLS handshake not finished within ${handshakeTimeoutMs} ms`;
              refuse(hs, reason, new TLSHandshakeError(reason, 'ERR_TLS_HANDSHAKE_TIMEOUT'));
              raw.destroy();
            }, handshakeTimeoutMs),
          };
          hs.timer.unref();
          pending.set(key, hs);
          raw.on('error', () => {
            // Reported through the TLS socket or the 'close' below.
          });
          raw.once('close', () => {
            if (pending.get(key) === hs) pending.delete(key);
            const reason = 'connection closed during TLS handshake';
            refuse(hs, reason, new TLSHandshakeError(reason));
          });
          handshaker.emit('connection', raw);
        },
        onClose: () => {
          closing = true;
          // Handshakes in flight never become connections.
          for (const hs of pending.values()) {
            hs.settled = true;
            clearTimeout(hs.timer);
            hs.raw.destroy();
          }
          pending.clear();
        },
      });
    },

    dial(target: DialTarget, dialOptions: DialOptions = {}): Promise<Connection> {
      const limits = resolveLimits(dialOptions.limits);
      const timeoutMs = dialOptions.timeoutMs ?? 10_000;
      const address = `${target.host}:${target.port}`;
      const serverName = target.serverName ?? target.host;
      return new Promise<Connection>((resolve, reject) => {
        if (dialOptions.signal?.aborted) {
          reject(new DialError(address, 'aborted'));
          return;
        }
        let secureContext = clientContext;
        if (target.ca !== undefined) {
          try {
            const ca = (Array.isArray(target.ca) ? target.ca : [target.ca]).map((c) =>
              typeof c === 'string' ? Buffer.from(c) : Buffer.from(c.buffer, c.byteOffset, c.byteLength),
            );
            secureContext = createContext('ca', creds, ca);
          } catch (err) {
            reject(new DialError(address, `invalid ca for this target: ${(err as Error).message}`, { cause: err }));
            return;
          }
        }
        const socket = tls.connect({
          host: target.host,
          port: target.port,
          // SNI carries host names only (RFC 6066); an IP is still checked against the certificate.
          servername: net.isIP(serverName) === 0 ? serverName : undefined,
          secureContext,
          minVersion: creds.minVersion,
          rejectUnauthorized,
          checkServerIdentity: (_host, cert) => tls.checkServerIdentity(serverName, cert),
        });
        socket.pause();
        let tcpConnected = false;
        const fail = (reason: string, cause?: unknown): void => {
          cleanup();
          // Late errors of a socket we gave up on must not crash the process.
          socket.on('error', () => {});
          socket.destroy();
          reject(new DialError(address, reason, { cause }));
        };
        const onError = (err: Error & { code?: string; reason?: string }): void => {
          if (isVerifyCode(err.code)) {
            const { reason, error } = verificationFailure(err, serverName);
            fail(reason, error);
          } else if (tcpConnected) {
            const { reason, error } = handshakeFailure(err);
            fail(reason, error);
          } else {
            fail(err.code ?? err.message, err);
          }
        };
        const onClose = (): void => fail('connection closed during TLS handshake');
        const onConnect = (): void => {
          tcpConnected = true;
        };
        const onAbort = (): void => fail('aborted');
        const timer = setTimeout(() => fail(`timed out after ${timeoutMs} ms`), timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          socket.off('error', onError);
          socket.off('close', onClose);
          socket.off('connect', onConnect);
          dialOptions.signal?.removeEventListener('abort', onAbort);
        };
        socket.once('error', onError);
        socket.once('close', onClose);
        socket.once('connect', onConnect);
        dialOptions.signal?.addEventListener('abort', onAbort, { once: true });
        socket.once('secureConnect', () => {
          cleanup();
          configure(socket);
          const peerCertificate = socket.authorized ? describeCertificate(socket.getPeerCertificate()) : undefined;
          resolve(
            createStreamConnection(
              socket,
              {
                transport: 'tls',
                remoteAddress: socket.remoteAddress ?? target.host,
                remotePort: socket.remotePort ?? target.port,
                remoteFamily: socket.remoteFamily ?? '',
                localAddress: socket.localAddress ?? '',
                localPort: socket.localPort ?? 0,
                secure: true,
                peerCertificate,
              },
              { limits, highWaterMark: dialOptions.highWaterMark },
            ),
          );
        });
      });
    },
  };
}

function createContext(option: string, creds: Credentials, ca: Buffer[] | undefined): tls.SecureContext {
  try {
    return tls.createSecureContext({
      cert: creds.cert,
      key: creds.key,
      passphrase: creds.passphrase,
      ca,
      minVersion: creds.minVersion,
      ciphers: creds.ciphers,
    });
  } catch (err) {
    throw new TLSConfigError(option, (err as Error).message, { cause: err });
  }
}

function peerKey(address: string | undefined, port: number | undefined): string {
  return `${address ?? ''}|${port ?? 0}`;
}

function handshakeFailure(err: Error & { code?: string; reason?: string }): { reason: string; error: SystemgeError } {
  if (err.code === 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE') {
    const text = 'certificate verification failed: peer did not return a certificate';
    return { reason: text, error: new TLSVerificationError(NO_PEER_CERTIFICATE, text, { cause: err }) };
  }
  // OpenSSL errors carry a short `reason` ("unsupported protocol"); the message holds file/line noise.
  const detail = err.reason ?? err.code ?? err.message;
  const text = `TLS handshake failed: ${detail}`;
  return { reason: text, error: new TLSHandshakeError(text, err.code, { cause: err }) };
}

function verificationFailure(err: Error & { code?: string }, serverName: string): { reason: string; error: SystemgeError } {
  const code = err.code ?? 'UNKNOWN';
  const text =
    code === 'ERR_TLS_CERT_ALTNAME_INVALID'
      ? `hostname mismatch: certificate is not valid for ${serverName} (${err.message})`
      : `certificate verification failed: ${describeVerifyCode(code)}`;
  return { reason: text, error: new TLSVerificationError(code, text, { cause: err }) };
}

function describeCertificate(cert: tls.PeerCertificate): PeerCertificateInfo {
  const validTo = new Date(cert.valid_to);
  return {
    subjectCN: firstValue(cert.subject?.CN),
    subjectAltNames: cert.subjectaltname === undefined || cert.subjectaltname === '' ? [] : cert.subjectaltname.split(', '),
    issuerCN: firstValue(cert.issuer?.CN),
    fingerprint256: cert.fingerprint256,
    validTo: Number.isNaN(validTo.getTime()) ? cert.valid_to : validTo.toISOString(),
  };
}

function firstValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
