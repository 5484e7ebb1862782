import { SystemgeError, type SystemgeErrorOptions } from '@systemge/protocol';

/** Options given to `tlsTransport()` are missing, contradictory or unreadable. Thrown by `tlsTransport()`. */
export class TLSConfigError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_TLS_CONFIG';
  /** The option at fault, e.g. `certFile`. */
  readonly option: string;
  constructor(option: string, message: string, options?: SystemgeErrorOptions) {
    super(TLSConfigError.code, `invalid TLS option ${option}: ${message}`, options);
    this.option = option;
  }
}

/**
 * A TLS handshake did not complete: no common protocol version or cipher, an alert from
 * the peer, a handshake timeout, or the socket closed mid-handshake.
 */
export class TLSHandshakeError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_TLS_HANDSHAKE';
  /** The OpenSSL or Node error code, e.g. `ERR_SSL_UNSUPPORTED_PROTOCOL`, when there is one. */
  readonly tlsCode: string | undefined;
  constructor(message: string, tlsCode?: string, options?: SystemgeErrorOptions) {
    super(TLSHandshakeError.code, message, options);
    this.tlsCode = tlsCode;
  }
}

/**
 * The peer's certificate failed verification: untrusted issuer, expired, not yet valid,
 * wrong host name, or no certificate where one is required.
 */
export class TLSVerificationError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_TLS_VERIFICATION';
  /** The verification code, e.g. `CERT_HAS_EXPIRED`, `ERR_TLS_CERT_ALTNAME_INVALID`, `NO_PEER_CERTIFICATE`. */
  readonly verifyCode: string;
  constructor(verifyCode: string, message: string, options?: SystemgeErrorOptions) {
    super(TLSVerificationError.code, message, options);
    this.verifyCode = verifyCode;
  }
}

/** OpenSSL's text for the X.509 verification codes Node reports (X509_verify_cert_error_string). */
const VERIFY_MESSAGES: Record<string, string> = {
  UNABLE_TO_GET_ISSUER_CERT: 'unable to get issuer certificate',
  UNABLE_TO_GET_CRL: 'unable to get certificate CRL',
  UNABLE_TO_DECRYPT_CERT_SIGNATURE: "unable to decrypt certificate's signature",
  UNABLE_TO_DECRYPT_CRL_SIGNATURE: "unable to decrypt CRL's signature",
  UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY: 'unable to decode issuer public key',
  CERT_SIGNATURE_FAILURE: 'certificate signature failure',
  CRL_SIGNATURE_FAILURE: 'CRL signature failure',
  CERT_NOT_YET_VALID: 'certificate is not yet valid',
  CERT_HAS_EXPIRED: 'certificate has expired',
  CRL_NOT_YET_VALID: 'CRL is not yet valid',
  CRL_HAS_EXPIRED: 'CRL has expired',
  ERROR_IN_CERT_NOT_BEFORE_FIELD: "format error in certificate's notBefore field",
  ERROR_IN_CERT_NOT_AFTER_FIELD: "format error in certificate's notAfter field",
  ERROR_IN_CRL_LAST_UPDATE_FIELD: "format error in CRL's lastUpdate field",
  ERROR_IN_CRL_NEXT_UPDATE_FIELD: "format error in CRL's nextUpdate field",
  OUT_OF_MEM: 'out of memory',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'self-signed certificate in certificate chain',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'unable to get local issuer certificate',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'unable to verify the first certificate',
  CERT_CHAIN_TOO_LONG: 'certificate chain too long',
  CERT_REVOKED: 'certificate revoked',
  INVALID_CA: 'invalid CA certificate',
  PATH_LENGTH_EXCEEDED: 'path length constraint exceeded',
  INVALID_PURPOSE: 'unsupported certificate purpose',
  CERT_UNTRUSTED: 'certificate not trusted',
  CERT_REJECTED: 'certificate rejected',
  HOSTNAME_MISMATCH: 'hostname mismatch',
};

/** Human-readable text of an X.509 verification code. */
export function describeVerifyCode(code: string): string {
  return VERIFY_MESSAGES[code] ?? code;
}

/** True for the codes Node gives certificate verification failures. */
export function isVerifyCode(code: string | undefined): code is string {
  return code !== undefined && (code in VERIFY_MESSAGES || code === 'ERR_TLS_CERT_ALTNAME_INVALID');
}
