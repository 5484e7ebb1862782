import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type ConfigFileError, ExitCode, loadConfigFile, main } from '../src/index.js';
import { testIO } from './io.js';

const dir = mkdtempSync(join(tmpdir(), 'systemge-cli-validate-discovery-'));
copyFileSync(new URL('./fixtures/echo-app.js', import.meta.url), join(dir, 'echo-app.js'));

function write(name: string, content: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return file;
}

function issues(file: string, env: NodeJS.ProcessEnv = {}): Record<string, string> {
  try {
    loadConfigFile(file, env);
  } catch (error) {
    expect(error).toMatchObject({ code: 'SYSTEMGE_ERR_CONFIG_FILE' });
    return Object.fromEntries((error as ConfigFileError).issues.map((i) => [i.path, i.message]));
  }
  return {};
}

const etcd = (extra: Record<string, unknown>) => ({ kind: 'etcd', endpoints: ['http://127.0.0.1:2379'], ...extra });

describe('systemge validate: a node`s discovery entry', () => {
  it('accepts etcd, dns and static sources with the node`s connectTo policy, and ${ENV} in endpoints and the password', async () => {
    const file = write('good.yaml', {
      nodes: [
        {
          name: 'a',
          discovery: etcd({
            endpoints: ['${ETCD_ENDPOINT}'],
            cluster: 'shop',
            prefix: '/prod',
            leaseTtlSeconds: 15,
            auth: { username: 'systemge', password: '${ETCD_PASSWORD}' },
            connectTo: { uses: ['price'] },
            metadata: { zone: 'a' },
          }),
        },
        { name: 'b', discovery: { kind: 'dns', name: '_systemge._tcp.mesh.local', type: 'SRV', servers: ['127.0.0.1:5353'] } },
        { name: 'c', discovery: { kind: 'static', members: [{ host: '127.0.0.1', port: 4000, name: 'a' }], connectTo: 'all' } },
      ],
    });
    const loaded = loadConfigFile(file, { ETCD_ENDPOINT: 'https://etcd.internal:2379', ETCD_PASSWORD: 'secret' });
    expect(loaded.config.nodes[0]?.discovery).toMatchObject({
      endpoints: ['https://etcd.internal:2379'],
      auth: { username: 'systemge', password: 'secret' },
    });
    const io = testIO({ ETCD_ENDPOINT: 'http://127.0.0.1:2379', ETCD_PASSWORD: 'x' });
    expect(await main(['validate', file], io)).toBe(ExitCode.ok);
  });

  it('reports every bad discovery field at once, each at its path', async () => {
    const file = write('bad.json', {
      nodes: [
        { name: 'unknown-kind', discovery: { kind: 'consul', endpoints: ['http://127.0.0.1:8500'] } },
        { name: 'no-kind', discovery: { connectTo: 'all' } },
        { name: 'no-endpoints', discovery: { kind: 'etcd' } },
        { name: 'empty-endpoints', discovery: etcd({ endpoints: [] }) },
        { name: 'bad-ttl', discovery: etcd({ leaseTtlSeconds: 1 }) },
        { name: 'not-a-url', discovery: etcd({ endpoints: ['http://127.0.0.1:2379', 'etcd:2379'] }) },
        { name: 'foreign-field', discovery: etcd({ name: 'x.local' }) },
        { name: 'ttl-misspelt', discovery: etcd({ ttlSeconds: 10 }) },
        { name: 'missing-ca', discovery: etcd({ endpoints: ['https://127.0.0.1:2379'], tls: { caFile: './no-ca.pem' } }) },
        { name: 'half-client-cert', discovery: etcd({ endpoints: ['https://127.0.0.1:2379'], tls: { certFile: './echo-app.js' } }) },
        { name: 'slash-cluster', discovery: etcd({ cluster: 'a/b' }) },
        { name: 'dns-no-port', discovery: { kind: 'dns', name: 'mesh.local' } },
        { name: 'dns-bad-server', discovery: { kind: 'dns', name: 'mesh.local', port: 4000, servers: ['not an address'] } },
        { name: 'static-no-members', discovery: { kind: 'static' } },
        { name: 'bad-policy', discovery: etcd({ connectTo: 'some' }) },
        { name: 'unset-password', discovery: etcd({ auth: { username: 'u', password: '${ETCD_PASSWORD_UNSET}' } }) },
      ],
    });
    const found = issues(file);
    expect(found).toEqual({
      'nodes[0].discovery.kind': 'expected one of "etcd", "dns", "static", got "consul"',
      'nodes[1].discovery.kind': 'required field is missing',
      'nodes[2].discovery.endpoints': 'required field is missing',
      'nodes[3].discovery.endpoints': 'expected a non-empty array of etcd client URLs, got an array',
      'nodes[4].discovery.leaseTtlSeconds': 'expected an integer from 2 to 2147483647, got number 1',
      'nodes[5].discovery.endpoints[1]': '"etcd:2379" is not http:// or https://',
      'nodes[6].discovery.name': 'not an option of "kind": "etcd"',
      'nodes[7].discovery.ttlSeconds': expect.stringMatching(
        /^unknown field; known fields: kind, endpoints, cluster, prefix, leaseTtlSeconds,/,
      ),
      'nodes[8].discovery.tls.caFile': expect.stringMatching(/^file not found: .*no-ca\.pem$/),
      'nodes[9].discovery.tls.keyFile': 'a client certificate needs both certFile and keyFile',
      'nodes[10].discovery.cluster': expect.stringMatching(/^expected /),
      'nodes[11].discovery.port': 'A records carry no port: set port (or use type "SRV")',
      'nodes[12].discovery': expect.stringMatching(/^DNS servers \["not an address"\] are not addresses/),
      'nodes[13].discovery.members': 'required field is missing',
      'nodes[14].discovery.connectTo': expect.stringMatching(/^expected "all" or an object, got "some"/),
      'nodes[15].discovery.auth.password': 'environment variable ETCD_PASSWORD_UNSET is not set',
    });

    const io = testIO();
    expect(await main(['validate', file], io)).toBe(ExitCode.failed);
    const lines = io.stderr.flatMap((l) => l.split('\n'));
    expect(lines[0]).toBe(`systemge: invalid configuration: ${Object.keys(found).length} problems`);
    expect(lines).toContain(`${file}: nodes[4].discovery.leaseTtlSeconds: expected an integer from 2 to 2147483647, got number 1`);
  });

  it('a YAML file with a bad discovery entry is reported at its path too', () => {
    const file = write(
      'bad.yaml',
      'nodes:\n  - name: a\n    discovery:\n      kind: etcd\n      endpoints: [http://127.0.0.1:2379]\n      leaseTtlSeconds: soon\n',
    );
    expect(issues(file)).toEqual({ 'nodes[0].discovery.leaseTtlSeconds': 'expected an integer from 2 to 2147483647, got "soon"' });
  });
});
