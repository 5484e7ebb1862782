import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Paths and PEM text of one certificate and its private key. */
export interface TestIdentity {
  certFile: string;
  keyFile: string;
  /** The certificate, PEM. */
  cert: string;
  /** The private key (EC P-256, unencrypted), PEM. */
  key: string;
}

/** What a certificate may be used for: its extended key usage. */
export type CertificateUsage = 'server' | 'client' | 'both';

/** A certificate `TestPKI.issue()` makes. */
export interface IssueOptions {
  /** Subject common name. Default the certificate's name. */
  commonName?: string;
  /** `serverAuth`, `clientAuth` or both. Default `'both'`. */
  usage?: CertificateUsage;
  /**
   * Subject alternative names in openssl's form (`DNS:localhost`, `IP:127.0.0.1`); `[]` for none, so
   * that a peer checks the common name. Default `['DNS:localhost', 'IP:127.0.0.1']`, or none for
   * `usage: 'client'`.
   */
  altNames?: readonly string[];
  /** The CA that signs it. Default `'ca'`. */
  issuer?: 'ca' | 'otherCA';
  /** Validity period. Default from now for 2 days. A past period makes an expired certificate. */
  validity?: { notBefore: Date; notAfter: Date };
}

/**
 * A throwaway PKI in a temp directory, made at run time with the openssl CLI; nothing of it is
 * meant to be kept. All certificates have EC P-256 keys. `ca` signs everything but the `other*`
 * identities, which an unrelated CA signs.
 */
export interface TestPKI {
  /** The temp directory that holds every file; `remove()` deletes it. */
  dir: string;
  /** The CA (CN=Test CA). Its `key` signs the leaf certificates. */
  ca: TestIdentity;
  /** CN=server, SAN localhost and 127.0.0.1, server use only, signed by `ca`. */
  server: TestIdentity;
  /** CN=client, client use only, signed by `ca`. */
  client: TestIdentity;
  /** CN=node, SAN localhost and 127.0.0.1, server and client use (a peer that dials and is dialed), signed by `ca`. */
  node: TestIdentity;
  /** CN=expired-client, client use, signed by `ca`, valid only on 2020-01-01. */
  expiredClient: TestIdentity;
  /** A second, unrelated CA (CN=Other CA). */
  otherCA: TestIdentity;
  /** CN=server, SAN localhost and 127.0.0.1, server use, signed by `otherCA`. */
  otherServer: TestIdentity;
  /** CN=other-client, client use, signed by `otherCA`. */
  otherClient: TestIdentity;
  /**
   * Makes one more certificate named `name` (letters, digits and dashes; its files are
   * `<name>.crt` and `<name>.key` in `dir`). Calls may overlap; they run one after another.
   */
  issue(name: string, options?: IssueOptions): Promise<TestIdentity>;
  /** Deletes `dir` and everything in it. */
  remove(): Promise<void>;
}

/** Names of the files `generateTestPKI` makes itself, which `issue()` must not reuse. */
const FIXED = ['ca', 'other-ca', 'server', 'client', 'node', 'expired-client', 'other-server', 'other-client'];
const LOCALHOST = ['DNS:localhost', 'IP:127.0.0.1'];
const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function openssl(dir: string, args: readonly string[]): Promise<void> {
  try {
    await run('openssl', args, { cwd: dir, timeout: 30_000 });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr;
    throw new Error(`openssl ${args[0]} failed (is the openssl CLI installed?): ${stderr || (error as Error).message}`, { cause: error });
  }
}

async function load(dir: string, name: string): Promise<TestIdentity> {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  return { certFile, keyFile, cert: await readFile(certFile, 'utf8'), key: await readFile(keyFile, 'utf8') };
}

async function makeCA(dir: string, name: string, commonName: string): Promise<void> {
  await openssl(dir, [
    'req',
    '-x509',
    ...EC_KEY,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.crt`,
    '-days',
    '2',
    '-subj',
    `/CN=${commonName}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
}

/** `YYYYMMDDHHMMSSZ`, the form `openssl ca -startdate/-enddate` take. */
function opensslTime(date: Date): string {
  return `${date.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

/** Signs `<name>.csr` with `issuer` for a fixed period: `openssl x509` of OpenSSL 3.0 cannot backdate, `openssl ca` can. */
async function signDated(dir: string, issuer: string, name: string, validity: { notBefore: Date; notAfter: Date }): Promise<void> {
  const config = `${issuer}.ca.cnf`;
  const database = `${issuer}.index.txt`;
  const serial = `${issuer}.serial`;
  await writeFile(join(dir, database), '', { flag: 'a' });
  await writeFile(join(dir, serial), '1000\n', { flag: 'wx' }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  await writeFile(
    join(dir, config),
    [
      '[ ca ]',
      'default_ca = test_ca',
      '[ test_ca ]',
      `database = ${database}`,
      'new_certs_dir = .',
      `serial = ${serial}`,
      'default_md = sha256',
      'policy = any',
      'unique_subject = no',
      '[ any ]',
      'commonName = supplied',
      '',
    ].join('\n'),
  );
  await openssl(dir, [
    'ca',
    '-batch',
    '-config',
    config,
    '-cert',
    `${issuer}.crt`,
    '-keyfile',
    `${issuer}.key`,
    '-in',
    `${name}.csr`,
    '-out',
    `${name}.crt`,
    '-extfile',
    `${name}.ext`,
    '-startdate',
    opensslTime(validity.notBefore),
    '-enddate',
    opensslTime(validity.notAfter),
    '-notext',
  ]);
}

async function makeLeaf(dir: string, name: string, options: IssueOptions): Promise<void> {
  const usage = options.usage ?? 'both';
  const altNames = options.altNames ?? (usage === 'client' ? [] : LOCALHOST);
  const issuer = options.issuer === 'otherCA' ? 'other-ca' : 'ca';
  const keyUsage = { server: 'serverAuth', client: 'clientAuth', both: 'serverAuth,clientAuth' }[usage];
  const extensions = ['basicConstraints=CA:FALSE', `extendedKeyUsage=${keyUsage}`];
  if (altNames.length > 0) extensions.push(`subjectAltName=${altNames.join(',')}`);
  await writeFile(join(dir, `${name}.ext`), `${extensions.join('\n')}\n`);
  await openssl(dir, [
    'req',
    '-new',
    ...EC_KEY,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    `/CN=${options.commonName ?? name}`,
  ]);
  if (options.validity !== undefined) {
    await signDated(dir, issuer, name, options.validity);
    return;
  }
  await openssl(dir, [
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
}

/**
 * Generates a test PKI into a fresh temp directory with the openssl CLI: a CA, server, client and
 * node certificates, an expired client certificate, and a second CA with its own server and client
 * certificates. `issue()` makes more. Call `remove()` when done (in `afterAll`).
 */
export async function generateTestPKI(): Promise<TestPKI> {
  const dir = await mkdtemp(join(tmpdir(), 'systemge-pki-'));
  const names = new Set(FIXED);
  let queue: Promise<unknown> = Promise.resolve();
  const issue = (name: string, options: IssueOptions = {}): Promise<TestIdentity> => {
    if (!/^[A-Za-z0-9][A-Za-z0-9-]*$/.test(name)) {
      return Promise.reject(new Error(`certificate name ${JSON.stringify(name)}: use letters, digits and dashes`));
    }
    if (names.has(name)) {
      return Promise.reject(new Error(`certificate name ${JSON.stringify(name)} is taken in this PKI`));
    }
    names.add(name);
    const issued = queue.then(async () => {
      await makeLeaf(dir, name, options);
      return load(dir, name);
    });
    queue = issued.catch(() => undefined);
    return issued;
  };
  try {
    await makeCA(dir, 'ca', 'Test CA');
    await makeCA(dir, 'other-ca', 'Other CA');
    await makeLeaf(dir, 'server', { usage: 'server' });
    await makeLeaf(dir, 'client', { usage: 'client' });
    await makeLeaf(dir, 'node', { usage: 'both' });
    await makeLeaf(dir, 'other-server', { commonName: 'server', usage: 'server', issuer: 'otherCA' });
    await makeLeaf(dir, 'other-client', { usage: 'client', issuer: 'otherCA' });
    await makeLeaf(dir, 'expired-client', {
      usage: 'client',
      validity: { notBefore: new Date('2020-01-01T00:00:00Z'), notAfter: new Date('2020-01-02T00:00:00Z') },
    });
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
      issue,
      remove: () => rm(dir, { recursive: true, force: true }),
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
