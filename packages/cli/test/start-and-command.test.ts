import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExitCode, main } from '../src/index.js';
import { testIO } from './io.js';

const dir = mkdtempSync(join(tmpdir(), 'systemge-cli-start-'));
copyFileSync(new URL('./fixtures/echo-app.js', import.meta.url), join(dir, 'echo-app.js'));

async function until(predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('systemge start and systemge command', () => {
  it('starts the nodes and dashboard of a file, runs commands through the dashboard, stops on the signal', async () => {
    const file = join(dir, 'system.yaml');
    writeFileSync(
      file,
      [
        'dashboard:',
        '  port: 0',
        '  token: ${DASH_TOKEN}',
        'nodes:',
        '  - name: alpha',
        '    application: ./echo-app.js',
        '    options: { greeting: hi }',
        '  - name: beta',
        '    application: ./echo-app.js',
        '    http: { port: 0 }',
        '',
      ].join('\n'),
    );
    const env = { DASH_TOKEN: 'tok-123' };
    const io = testIO(env);
    const running = main(['start', file], io);
    await until(() => io.stdout.some((l) => l.startsWith('dashboard: ')));
    const url = (io.stdout.find((l) => l.startsWith('dashboard: ')) as string).slice('dashboard: '.length);
    expect(io.stdout.join('\n')).toMatch(/alpha {2}systemge 127\.0\.0\.1:\d+/);
    expect(io.stdout.join('\n')).toMatch(/beta {2}systemge 127\.0\.0\.1:\d+ {2}http http:\/\/127\.0\.0\.1:\d+/);

    const cmd = testIO(env);
    expect(await main(['command', 'alpha', 'greet', 'there', '--dashboard', url, '--token', 'tok-123'], cmd)).toBe(ExitCode.ok);
    expect(cmd.stdout).toEqual(['hi there']);

    const fromEnv = testIO({ SYSTEMGE_DASHBOARD: url, SYSTEMGE_DASHBOARD_TOKEN: 'tok-123' });
    expect(await main(['command', 'beta', 'greet'], fromEnv)).toBe(ExitCode.ok);
    expect(fromEnv.stdout).toEqual(['hello']);

    const failing = testIO();
    expect(await main(['command', 'alpha', 'fail', '--dashboard', url, '--token', 'tok-123'], failing)).toBe(ExitCode.failed);
    expect(failing.stderr.join('\n')).toMatch(/this command always fails/);

    const unknown = testIO();
    expect(await main(['command', 'alpha', 'nope', '--dashboard', url, '--token', 'tok-123'], unknown)).toBe(ExitCode.failed);
    expect(unknown.stderr.join('\n')).toMatch(/available commands: .*greet/);

    const noNode = testIO();
    expect(await main(['command', 'gamma', 'status', '--dashboard', url, '--token', 'tok-123'], noNode)).toBe(ExitCode.failed);

    const badToken = testIO();
    expect(await main(['command', 'alpha', 'status', '--dashboard', url, '--token', 'wrong'], badToken)).toBe(ExitCode.unavailable);

    const unreachable = testIO();
    expect(await main(['command', 'alpha', 'status', '--dashboard', 'http://127.0.0.1:1'], unreachable)).toBe(ExitCode.unavailable);
    expect(unreachable.stderr.join('\n')).toMatch(/cannot reach the dashboard/);

    io.stop();
    expect(await running).toBe(ExitCode.ok);
    expect(io.stdout.at(-1)).toBe('systemge: stopped');
  }, 30_000);

  it('exits 3 and releases every port when a node cannot start', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const busy = (taken.address() as net.AddressInfo).port;
    const free = net.createServer();
    await new Promise<void>((resolve) => free.listen(0, '127.0.0.1', resolve));
    const firstPort = (free.address() as net.AddressInfo).port;
    await new Promise((resolve) => free.close(resolve));
    const file = join(dir, 'clash.json');
    writeFileSync(
      file,
      JSON.stringify({
        nodes: [
          { name: 'one', listen: { port: firstPort } },
          { name: 'two', listen: { port: busy } },
        ],
      }),
    );
    const io = testIO();
    expect(await main(['start', file], io)).toBe(ExitCode.unavailable);
    expect(io.stderr.join('\n')).toMatch(new RegExp(`could not start: .*${busy}`));
    // "one" started before "two" failed; its port is free again.
    const again = net.createServer();
    await new Promise<void>((resolve, reject) => {
      again.once('error', reject);
      again.listen(firstPort, '127.0.0.1', resolve);
    });
    await new Promise((resolve) => again.close(resolve));
    await new Promise((resolve) => taken.close(resolve));
  });
});
