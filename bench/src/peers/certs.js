/**
 * Test certificates for the TLS variants: `@systemge/transport-compliance/pki` makes a throwaway PKI
 * with the openssl CLI in a temp dir at run time (EC P-256 keys; nothing is committed); the benchmarks
 * use its CA and its server certificate for `localhost` / 127.0.0.1. `remove()` deletes the dir.
 */
import { generateTestPKI } from '@systemge/transport-compliance/pki';

/**
 * Resolves with `{ dir, caFile, certFile, keyFile, remove() }` (`dir` holds `ca.crt`, `server.crt`
 * and `server.key`); rejects when openssl is missing or fails.
 */
export async function makeCertificates() {
  const pki = await generateTestPKI();
  return { dir: pki.dir, caFile: pki.ca.certFile, certFile: pki.server.certFile, keyFile: pki.server.keyFile, remove: pki.remove };
}
