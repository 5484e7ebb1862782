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

/** A throwaway PKI generated with the openssl CLI; nothing of it is committed. */
export interface TestPKI {
  dir: string;
  /** The CA everything below is signed by. */
  ca: Identity;
  /** CN=server, SAN localhost and 127.0.0.1, signed by `ca`. */
  server: Identity;
  /** CN=client, signed by `ca`. */
  client: Identity;
  /** CN=node, SAN localhost and 127.0.0.1, for both server and client use (a P2P node), signed by `ca`. */
  node: Identity;
  /** CN=expired-client, signed by `ca`, valid only on 2020-01-01. */
  expiredClient: Identity;
  /** A second, unrelated CA. */
  otherCA: Identity;
  /** CN=server, SAN localhost and 127.0.0.1, signed by `otherCA`. */
  otherServer: Identity;
  /** CN=other-client, signed by `otherCA`. */
  otherClient: Identity;
  remove(): Promise<void>;
}

async function openssl(cwd: string, args: string[]): Promise<void> {
  await run('openssl', args, { cwd });
}

async function load(dir: string, name: string): Promise<Identity> {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  return { certFile, keyFile, cert: await readFile(certFile, 'utf8'), key: await readFile(keyFile, 'utf8') };
}

async function makeCA(dir: string, name: string, cn: string): Promise<void> {
  await openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
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
}

async function makeRequest(dir: string, name: string, cn: string): Promise<void> {
  await openssl(dir, [
    'req',
    '-new',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    `/CN=${cn}`,
  ]);
}

async function makeLeaf(dir: string, ca: string, name: string, cn: string, extensions: string): Promise<void> {
  await makeRequest(dir, name, cn);
  await writeFile(join(dir, `${name}.ext`), extensions);
  await openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.crt`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-out',
    `${name}.crt`,
    '-days',
    '2',
    '-sha256',
    '-extfile',
    `${name}.ext`,
  ]);
}

const SERVER_EXT = 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n';
const NODE_EXT = 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n';
const CLIENT_EXT = 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n';

/** Generates the test PKI into a fresh temp directory. */
export async function generatePKI(): Promise<TestPKI> {
  const dir = await mkdtemp(join(tmpdir(), 'systemge-tls-'));
  await makeCA(dir, 'ca', 'Test CA');
  await makeCA(dir, 'other-ca', 'Other CA');
  await makeLeaf(dir, 'ca', 'server', 'server', SERVER_EXT);
  await makeLeaf(dir, 'ca', 'client', 'client', CLIENT_EXT);
  await makeLeaf(dir, 'ca', 'node', 'node', NODE_EXT);
  await makeLeaf(dir, 'other-ca', 'other-server', 'server', SERVER_EXT);
  await makeLeaf(dir, 'other-ca', 'other-client', 'other-client', CLIENT_EXT);

  // `openssl x509` of OpenSSL 3.0 cannot backdate; `openssl ca` can.
  await makeRequest(dir, 'expired-client', 'expired-client');
  await writeFile(join(dir, 'index.txt'), '');
  await writeFile(join(dir, 'serial'), '1000\n');
  await writeFile(
    join(dir, 'ca.cnf'),
    [
      '[ ca ]',
      'default_ca = test_ca',
      '[ test_ca ]',
      'database = index.txt',
      'new_certs_dir = .',
      'serial = serial',
      'default_md = sha256',
      'policy = any',
      'unique_subject = no',
      'x509_extensions = client_ext',
      '[ any ]',
      'commonName = supplied',
      '[ client_ext ]',
      'basicConstraints = CA:FALSE',
      'extendedKeyUsage = clientAuth',
      '',
    ].join('\n'),
  );
  await openssl(dir, [
    'ca',
    '-batch',
    '-config',
    'ca.cnf',
    '-cert',
    'ca.crt',
    '-keyfile',
    'ca.key',
    '-in',
    'expired-client.csr',
    '-out',
    'expired-client.crt',
    '-startdate',
    '20200101000000Z',
    '-enddate',
    '20200102000000Z',
    '-notext',
  ]);

  return {
    dir,
    ca: await load(dir, 'ca'),
    server: await load(dir, 'server'),
    client: await load(dir, 'client'),
    node: await load(dir, 'node'),
    expiredClient: await load(dir, 'expired-client'),
    otherCA: await load(dir, 'other-ca'),
    otherServer: await load(dir, 'other-server'),
    otherClient: await load(dir, 'other-client'),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
