import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateTestPKI, type TestPKI } from '@systemge/transport-compliance/pki';
import { type CLIProcess, runCLI, runToEnd } from './real-cli.js';

const TOKEN = 'cli-tls-token.0123456789';
const dir = mkdtempSync(join(tmpdir(), 'systemge-cli-tls-'));
copyFileSync(new URL('./fixtures/echo-app.js', import.meta.url), join(dir, 'echo-app.js'));
let pki: TestPKI;
const running: CLIProcess[] = [];

beforeAll(async () => {
  pki = await generateTestPKI();
});
afterEach(async () => {
  for (const p of running.splice(0)) {
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
    await p.exited;
  }
});
afterAll(async () => {
  await pki.remove();
});

function start(name: string, content: unknown): CLIProcess {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(content, null, 2));
  const p = runCLI(['start', file], { DASH_TOKEN: TOKEN });
  running.push(p);
  return p;
}

describe('remote operations encrypted end to end, through the real CLI', () => {
  it('serves the dashboard over mutual-TLS HTTPS, links a node of another process over mutual TLS, runs its command', async () => {
    const dashboard = start('dashboard.json', {
      dashboard: {
        port: 0,
        token: '${DASH_TOKEN}',
        https: { certFile: pki.node.certFile, keyFile: pki.node.keyFile, caFile: pki.ca.certFile, requestClientCert: true },
        systemge: {
          port: 0,
          transport: {
            kind: 'tls',
            certFile: pki.node.certFile,
            keyFile: pki.node.keyFile,
            caFile: pki.ca.certFile,
            requestClientCert: true,
          },
        },
      },
      nodes: [{ name: 'ops', application: './echo-app.js' }],
    });
    const url = (await dashboard.line(/^dashboard: /)).slice('dashboard: '.length);
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const registrations = (await dashboard.line(/^ {2}nodes in other processes join the dashboard over Systemge at /))
      .split(' at ')
      .at(-1) as string;
    const port = Number(registrations.split(':').at(-1));

    const worker = start('worker.json', {
      nodes: [
        {
          name: 'worker',
          application: './echo-app.js',
          options: { greeting: 'hi' },
          transport: { kind: 'tls', certFile: pki.node.certFile, keyFile: pki.node.keyFile, caFile: pki.ca.certFile },
          dashboard: { host: '127.0.0.1', port, token: '${DASH_TOKEN}' },
        },
      ],
    });
    await worker.line(/^systemge: started 1 node/);

    const tls = ['--ca', pki.ca.certFile, '--cert', pki.client.certFile, '--key', pki.client.keyFile];
    // The link registers in the background: ask until the node is known.
    const deadline = Date.now() + 15_000;
    let result = await runToEnd(['command', 'worker', 'greet', 'over', 'tls', '--dashboard', url, '--token', TOKEN, ...tls]);
    while (result.code !== 0 && /unknown node/.test(result.stderr) && Date.now() < deadline) {
      result = await runToEnd(['command', 'worker', 'greet', 'over', 'tls', '--dashboard', url, '--token', TOKEN, ...tls]);
    }
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe('hi over tls');

    // Without a client certificate the TLS handshake is refused.
    const noCert = await runToEnd(['command', 'worker', 'greet', '--dashboard', url, '--token', TOKEN, '--ca', pki.ca.certFile]);
    expect(noCert.code).toBe(3);
    expect(noCert.stderr).toMatch(/cannot reach the dashboard/);
    // Without the CA the server is not trusted.
    const noCA = await runToEnd([
      'command',
      'worker',
      'greet',
      '--dashboard',
      url,
      '--token',
      TOKEN,
      '--cert',
      pki.client.certFile,
      '--key',
      pki.client.keyFile,
    ]);
    expect(noCA.code).toBe(3);
    expect(noCA.stderr).toMatch(/certificate/i);
  }, 60_000);

  it('prints a refused link token at error level, without the token', async () => {
    const dashboard = start('plain-dashboard.json', { dashboard: { token: '${DASH_TOKEN}' }, nodes: [{ name: 'ops' }] });
    const registrations = (await dashboard.line(/^ {2}nodes in other processes join the dashboard over Systemge at /))
      .split(' at ')
      .at(-1) as string;
    const port = Number(registrations.split(':').at(-1));
    const file = join(dir, 'wrong-token.json');
    writeFileSync(file, JSON.stringify({ nodes: [{ name: 'intruder', dashboard: { host: '127.0.0.1', port, token: 'wrong' } }] }));
    const worker = runCLI(['start', file]);
    running.push(worker);
    await worker.line(/^systemge: started 1 node/);
    const deadline = Date.now() + 10_000;
    while (!worker.stderr.some((l) => l.includes('dashboard refused the link token')) && Date.now() < deadline) {
      // The next stderr chunk, or a re-check after a second if none comes.
      await Promise.race([
        new Promise((resolve) => worker.child.stderr!.once('data', resolve)),
        new Promise((resolve) => setTimeout(resolve, 1000)),
      ]);
    }
    const refusal = worker.stderr.find((l) => l.includes('dashboard refused the link token'));
    expect(refusal, worker.stderr.join('\n')).toBeDefined();
    expect(JSON.parse(refusal!)).toMatchObject({ level: 'error', code: 'SYSTEMGE_ERR_AUTH_FAILED' });
    expect(worker.stderr.join('\n')).not.toContain('"wrong"');
  });

  it('refuses to send the token over plain http to a host that is not loopback', async () => {
    const refused = await runToEnd(['command', 'worker', 'greet', '--dashboard', 'http://192.0.2.10:7070', '--token', TOKEN]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/refusing to send the dashboard token in clear text to http:\/\/192\.0\.2\.10:7070.*--allow-insecure/);
    // Loopback is fine (nothing listens on port 1 there: unreachable, exit 3, but the token was allowed to go).
    const loopback = await runToEnd(['command', 'worker', 'greet', '--dashboard', 'http://127.0.0.2:1', '--token', TOKEN]);
    expect(loopback.code).toBe(3);
    expect(loopback.stderr).toMatch(/cannot reach the dashboard/);
  });
});
