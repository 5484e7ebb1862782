/**
 * A throwaway CA and a server certificate for `localhost` / 127.0.0.1, made with the openssl CLI
 * in a fresh temp directory at run time (nothing is committed). EC P-256 keys, as a current
 * deployment would use; the TLS version and cipher are Node's defaults (TLS 1.3).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function openssl(dir, args) {
  try {
    await run('openssl', args, { cwd: dir, timeout: 30_000 });
  } catch (err) {
    throw new Error(`openssl ${args[0]} failed (is the openssl CLI installed?): ${err.stderr || err.message}`, { cause: err });
  }
}

/** Resolves with `{ dir, caFile, certFile, keyFile, remove() }`; call `remove()` when done. */
export async function createCertificates() {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'systemge-bench-tls-'));
  try {
    await writeFile(
      path.join(dir, 'server.ext'),
      'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n',
    );
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    await openssl(dir, ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=systemge-bench-ca']);
    await openssl(dir, ['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost']);
    await openssl(dir, [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'server.crt',
      '-days',
      '2',
      '-extfile',
      'server.ext',
    ]);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    dir,
    caFile: path.join(dir, 'ca.crt'),
    certFile: path.join(dir, 'server.crt'),
    keyFile: path.join(dir, 'server.key'),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
