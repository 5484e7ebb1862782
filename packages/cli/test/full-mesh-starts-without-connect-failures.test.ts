import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfigFile, main, startSystem } from '../src/index.js';
import { testIO } from './io.js';
import { type CLIProcess, runCLI } from './real-cli.js';

/** A port that was free a moment ago (the config needs fixed ports for the mesh). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function command(dashboard: string, node: string, cmd: string): Promise<unknown> {
  const io = testIO();
  const code = await main(['command', node, cmd, '--dashboard', dashboard], io);
  expect(code, io.stderr.join('\n')).toBe(0);
  return JSON.parse(io.stdout.join('\n')) as unknown;
}

let cli: CLIProcess | undefined;
afterEach(async () => {
  cli?.child.kill('SIGTERM');
  await cli?.exited;
  cli = undefined;
});

describe('systemge start with a full mesh', () => {
  it('starts every node of the file together: each one dials the others once, with no failed attempt', async () => {
    const ports: number[] = [];
    for (let i = 0; i < 5; i++) ports.push(await freePort());
    const nodes = ports.map((port, i) => ({
      name: `n${i}`,
      listen: { port },
      endpoints: ports.filter((_, j) => j !== i).map((p) => ({ host: '127.0.0.1', port: p })),
      // One failed attempt would give up at once, and be counted.
      connection: { maxAttempts: 1 },
    }));
    const dir = mkdtempSync(join(tmpdir(), 'systemge-cli-mesh-'));
    const file = join(dir, 'mesh.json');
    writeFileSync(file, JSON.stringify({ dashboard: { port: 0 }, nodes }, null, 2));

    cli = runCLI(['start', file, '--log-level', 'warn']);
    await cli.line(/^systemge: started 5 nodes/, 60_000);
    const url = (await cli.line(/^dashboard: /)).slice('dashboard: '.length);
    for (const { name } of nodes) {
      const stats = (await command(url, name, 'stats')) as { connectionAttempts: number; connectionFailures: number };
      expect(stats, name).toMatchObject({ connectionAttempts: 4, connectionFailures: 0 });
      const connections = (await command(url, name, 'connections')) as unknown[];
      expect(connections, name).toHaveLength(4);
    }
    expect(cli.stderr.join('\n')).not.toMatch(/connect|gave up|ECONNREFUSED/i);
  });
});

describe('a node of the file that cannot start', () => {
  it('fails the start and stops the nodes that had started, freeing their ports', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const busy = (taken.address() as { port: number }).port;
    const okPort = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'systemge-cli-mesh-fail-'));
    const file = join(dir, 'fail.json');
    writeFileSync(
      file,
      JSON.stringify({
        nodes: [
          { name: 'a', listen: { port: okPort } },
          { name: 'b', listen: { port: busy } },
        ],
      }),
    );
    try {
      await expect(startSystem(loadConfigFile(file, {}))).rejects.toMatchObject({ code: 'SYSTEMGE_ERR_LISTEN_FAILED' });
      // Node a started and was stopped again: its port is free.
      const again = createServer();
      await new Promise<void>((resolve, reject) => {
        again.once('error', reject);
        again.listen(okPort, '127.0.0.1', resolve);
      });
      await new Promise<void>((resolve) => again.close(() => resolve()));
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  });
});
