import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTestPKI, type TestPKI } from '@systemge/transport-compliance/pki';
import { runToEnd } from './real-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'systemge-cli-preflight-'));
copyFileSync(new URL('./fixtures/echo-app.js', import.meta.url), join(dir, 'echo-app.js'));
writeFileSync(join(dir, 'garbage.pem'), 'this is not a certificate\n');
let pki: TestPKI;

beforeAll(async () => {
  pki = await generateTestPKI();
});
afterAll(async () => {
  await pki.remove();
});

function write(name: string, content: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(content, null, 2));
  return file;
}

/** `validate` and `start` of the real CLI agree: same exit code 1, same message naming the field. */
async function bothRefuse(file: string, expected: RegExp): Promise<void> {
  const validate = await runToEnd(['validate', file]);
  expect(validate.code, validate.stdout + validate.stderr).toBe(1);
  expect(validate.stderr).toMatch(expected);
  const start = await runToEnd(['start', file]);
  expect(start.code, start.stdout + start.stderr).toBe(1);
  expect(start.stderr).toMatch(expected);
}

describe('systemge validate runs every check systemge start runs', () => {
  it('refuses a dashboard on 0.0.0.0 without a token, naming dashboard.token', async () => {
    const file = write('open-dashboard.json', { dashboard: { host: '0.0.0.0', port: 0 }, nodes: [{ name: 'a' }] });
    await bothRefuse(
      file,
      /open-dashboard\.json: dashboard\.token: required: dashboard\.host "0\.0\.0\.0" is not a loopback address; set dashboard\.token/,
    );
    const validate = await runToEnd(['validate', file]);
    expect(validate.stderr).not.toMatch(/options\.token/);
  }, 60_000);

  it('refuses a Systemge registration listener on 0.0.0.0 without a token, naming dashboard.systemge.host', async () => {
    const file = write('open-registrations.json', { dashboard: { systemge: { host: '0.0.0.0' } }, nodes: [{ name: 'a' }] });
    await bothRefuse(file, /dashboard\.token: required: dashboard\.systemge\.host "0\.0\.0\.0"/);
  }, 60_000);

  it('refuses a dashboard link that would send its token over plain TCP to another machine', async () => {
    const file = write('clear-link.json', { nodes: [{ name: 'a', dashboard: { host: '192.0.2.10', port: 7071, token: 'tok' } }] });
    await bothRefuse(
      file,
      /nodes\[0\]\.dashboard: the link would send nodes\[0\]\.dashboard\.token in clear text over "tcp" to the non-loopback host "192\.0\.2\.10"/,
    );
    const allowed = write('clear-link-allowed.json', {
      nodes: [{ name: 'a', dashboard: { host: '192.0.2.10', port: 7071, token: 'tok', allowInsecure: true } }],
    });
    expect((await runToEnd(['validate', allowed])).code).toBe(0);
    const loopback = write('clear-link-loopback.json', {
      nodes: [{ name: 'a', dashboard: { host: '127.0.0.2', port: 7071, token: 'tok' } }],
    });
    expect((await runToEnd(['validate', loopback])).code).toBe(0);
  }, 60_000);

  it('accepts a link over TLS, inherited from the node transport or its own', async () => {
    const inherited = write('tls-link.json', {
      nodes: [
        {
          name: 'a',
          transport: { kind: 'tls', certFile: pki.node.certFile, keyFile: pki.node.keyFile, caFile: pki.ca.certFile },
          dashboard: { host: 'dashboard.example', port: 7071, token: 'tok' },
        },
      ],
    });
    const result = await runToEnd(['validate', inherited]);
    expect(result.code, result.stderr).toBe(0);
    const own = write('tls-link-own.json', {
      nodes: [
        {
          name: 'a',
          dashboard: { host: 'dashboard.example', port: 7071, token: 'tok', transport: { kind: 'tls', caFile: pki.ca.certFile } },
        },
      ],
    });
    expect((await runToEnd(['validate', own])).code).toBe(0);
  }, 60_000);

  it('parses certificates: a file that is not PEM is refused at its field', async () => {
    await bothRefuse(
      write('bad-transport-cert.json', {
        nodes: [{ name: 'a', transport: { kind: 'tls', certFile: './garbage.pem', keyFile: pki.node.keyFile } }],
      }),
      /nodes\[0\]\.transport\.certFile: /,
    );
    await bothRefuse(
      write('bad-dashboard-cert.json', {
        dashboard: { https: { certFile: './garbage.pem', keyFile: pki.node.keyFile } },
        nodes: [{ name: 'a' }],
      }),
      /dashboard\.https: must be a usable certificate, key and CA/,
    );
    await bothRefuse(
      write('mtls-without-ca.json', {
        dashboard: { https: { certFile: pki.node.certFile, keyFile: pki.node.keyFile, requestClientCert: true } },
        nodes: [{ name: 'a' }],
      }),
      /dashboard\.https\.caFile: must be set when https\.requestClientCert is true/,
    );
    await bothRefuse(
      write('registrations-tls-without-cert.json', {
        dashboard: { systemge: { transport: { kind: 'tls', caFile: pki.ca.certFile } } },
        nodes: [{ name: 'a' }],
      }),
      /dashboard\.systemge\.transport: a listening TLS node needs certFile and keyFile/,
    );
  }, 60_000);

  it('runs the HTTP component checks: a bad allow-list entry is refused at nodes[0].http.allow', async () => {
    await bothRefuse(
      write('bad-allow.json', { nodes: [{ name: 'a', http: { port: 0, allow: ['not-an-address'] } }] }),
      /nodes\[0\]\.http\.allow: .*not-an-address/,
    );
  }, 60_000);
});
