import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Paths and PEM text of one certificate and its key. */
export interface Identity {
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
}

/** A throwaway PKI made with the openssl CLI for one test file; nothing of it is committed. */
export interface TestPKI {
  dir: string;
  ca: Identity;
  /** CN=dashboard, SAN localhost and 127.0.0.1, server and client use. */
  server: Identity;
  /** CN=client, client use. */
  client: Identity;
  /** A second, unrelated CA and a client certificate it signed. */
  otherCA: Identity;
  otherClient: Identity;
  remove(): Promise<void>;
}

const SERVER_EXT = 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n';
const CLIENT_EXT = 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n';

export async function generatePKI(): Promise<TestPKI> {
  const dir = await mkdtemp(join(tmpdir(), 'systemge-dashboard-tls-'));
  const ssl = (args: string[]) => run('openssl', args, { cwd: dir });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const ca = async (name: string, cn: string) =>
    ssl([
      'req',
      '-x509',
      ...ec,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.crt`,
      '-days',
      '2',
      '-subj',
      `/CN=${cn}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
  const leaf = async (issuer: string, name: string, cn: string, ext: string) => {
    await ssl(['req', '-new', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`]);
    await writeFile(join(dir, `${name}.ext`), ext);
    await ssl([
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${issuer}.crt`,
      '-CAkey',
      `${issuer}.key`,
      '-CAcreateserial',
      '-out',
      `${name}.crt`,
      '-days',
      '2',
      '-sha256',
      '-extfile',
      `${name}.ext`,
    ]);
  };
  const load = async (name: string): Promise<Identity> => {
    const certFile = join(dir, `${name}.crt`);
    const keyFile = join(dir, `${name}.key`);
    return { certFile, keyFile, cert: await readFile(certFile, 'utf8'), key: await readFile(keyFile, 'utf8') };
  };
  await ca('ca', 'Dashboard Test CA');
  await ca('other-ca', 'Other CA');
  await leaf('ca', 'server', 'dashboard', SERVER_EXT);
  await leaf('ca', 'client', 'client', CLIENT_EXT);
  await leaf('other-ca', 'other-client', 'other-client', CLIENT_EXT);
  return {
    dir,
    ca: await load('ca'),
    server: await load('server'),
    client: await load('client'),
    otherCA: await load('other-ca'),
    otherClient: await load('other-client'),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
