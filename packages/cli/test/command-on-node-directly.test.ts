import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateTestPKI, type TestPKI } from '@systemge/transport-compliance/pki';
import { type CLIProcess, runCLI, runToEnd } from './real-cli.js';

const TOKEN = 'node-token.0123456789';
const dir = mkdtempSync(join(tmpdir(), 'systemge-cli-node-command-'));
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

/** Starts a file with `systemge start` in its own process; resolves with `host:port` of each node. */
async function start(name: string, content: unknown): Promise<Record<string, string>> {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(content, null, 2));
  const p = runCLI(['start', file], { NODE_TOKEN: TOKEN });
  running.push(p);
  const addresses: Record<string, string> = {};
  for (const node of (content as { nodes: { name: string }[] }).nodes) {
    const line = await p.line(new RegExp(`^ {2}${node.name} {2}systemge `));
    addresses[node.name] = (/systemge (\S+)/.exec(line) as RegExpExecArray)[1] as string;
  }
  return addresses;
}

describe("systemge command --node: commands over the node's Systemge port, no dashboard", () => {
  it('runs built-in and application commands with the node token; data prints as JSON', async () => {
    const { ops } = await start('token.json', {
      nodes: [{ name: 'ops', application: './echo-app.js', auth: { token: '${NODE_TOKEN}' }, commands: { remote: true } }],
    });
    const greet = await runToEnd(['command', '--node', ops as string, 'greet', 'from', 'afar'], { SYSTEMGE_TOKEN: TOKEN });
    expect(greet, greet.stderr).toMatchObject({ code: 0, stdout: 'hello from afar' });

    const stats = await runToEnd(['command', '--node', ops as string, '--token', TOKEN, 'stats']);
    expect(stats.code, stats.stderr).toBe(0);
    expect(stats.stdout).toMatch(/^\{\n {2}"/);
    expect(JSON.parse(stats.stdout)).toMatchObject({ connectionsIn: expect.any(Number), syncRequestsReceived: expect.any(Number) });

    const connections = await runToEnd(['command', '--node', ops as string, '--token', TOKEN, '--name', 'operator-1', 'connections']);
    expect(JSON.parse(connections.stdout)).toEqual([expect.objectContaining({ name: 'operator-1', direction: 'in' })]);

    const failing = await runToEnd(['command', '--node', ops as string, '--token', TOKEN, 'fail']);
    expect(failing.code).toBe(1);
    expect(failing.stderr).toMatch(/command "fail" on node "ops" failed: this command always fails/);
    const unknown = await runToEnd(['command', '--node', ops as string, '--token', TOKEN, 'nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/available commands: .*greet/);
  }, 180_000);

  it('is refused without the token, and by a node that did not turn remote commands on', async () => {
    const { ops, closed } = await start('refusals.json', {
      nodes: [
        { name: 'ops', application: './echo-app.js', auth: { token: '${NODE_TOKEN}' }, commands: { remote: true } },
        { name: 'closed', application: './echo-app.js' },
      ],
    });
    const noToken = await runToEnd(['command', '--node', ops as string, 'stats']);
    expect(noToken.code).toBe(3);
    expect(noToken.stderr).toMatch(/cannot reach the node at .*(auth|token)/i);
    const wrong = await runToEnd(['command', '--node', ops as string, '--token', 'wrong-token', 'stop']);
    expect(wrong.code).toBe(3);

    const off = await runToEnd(['command', '--node', closed as string, 'stop']);
    expect(off.code).toBe(1);
    expect(off.stderr).toMatch(/node "closed" at .* does not accept commands from peers: set "commands": \{ "remote": true \}/);
    // Still running: nothing was stopped by either refused attempt.
    const still = await runToEnd(['command', '--node', ops as string, '--token', TOKEN, 'status']);
    expect(JSON.parse(still.stdout)).toMatchObject({ name: 'ops', status: 'started' });
  }, 180_000);

  it('refuses to send the token over plain TCP to a host that is not loopback', async () => {
    const refused = await runToEnd(['command', '--node', '192.0.2.10:7000', '--token', TOKEN, 'stats']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/refusing to send the node token in clear text to 192\.0\.2\.10:7000.*--tls.*--allow-insecure/);
  }, 120_000);

  it('connects over mutual TLS with --ca, --cert and --key', async () => {
    const { secure } = await start('tls.json', {
      nodes: [
        {
          name: 'secure',
          application: './echo-app.js',
          transport: {
            kind: 'tls',
            certFile: pki.node.certFile,
            keyFile: pki.node.keyFile,
            caFile: pki.ca.certFile,
            requestClientCert: true,
          },
          auth: { token: '${NODE_TOKEN}' },
          commands: { remote: true },
        },
      ],
    });
    const ok = await runToEnd([
      'command',
      '--node',
      secure as string,
      '--token',
      TOKEN,
      '--ca',
      pki.ca.certFile,
      '--cert',
      pki.client.certFile,
      '--key',
      pki.client.keyFile,
      'greet',
      'tls',
    ]);
    expect(ok, ok.stderr).toMatchObject({ code: 0, stdout: 'hello tls' });
    const noCert = await runToEnd(['command', '--node', secure as string, '--token', TOKEN, '--ca', pki.ca.certFile, 'greet']);
    expect(noCert.code).toBe(3);
    const plain = await runToEnd(['command', '--node', secure as string, '--token', TOKEN, 'greet']);
    expect(plain.code).toBe(3);
  }, 180_000);
});
