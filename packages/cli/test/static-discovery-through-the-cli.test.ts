import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type CLIProcess, runCLI, runToEnd } from './real-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'systemge-cli-static-discovery-'));
copyFileSync(new URL('./fixtures/whoami-app.js', import.meta.url), join(dir, 'whoami-app.js'));
const running: CLIProcess[] = [];

afterEach(async () => {
  for (const p of running.splice(0)) {
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
    await p.exited;
  }
});

/** Starts `systemge start` on a file with one node; resolves with its Systemge address. */
async function start(name: string, discovery?: unknown): Promise<string> {
  const file = join(dir, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify({ nodes: [{ name, application: './whoami-app.js', commands: { remote: true }, ...(discovery ? { discovery } : {}) }] }),
  );
  const p = runCLI(['start', file]);
  running.push(p);
  const line = await p.line(new RegExp(`^ {2}${name} {2}systemge `));
  return (/systemge (\S+)/.exec(line) as RegExpExecArray)[1] as string;
}

describe('systemge start with discovery: { kind: static }', () => {
  it('dials the listed members, and the member answers', async () => {
    const server = await start('server');
    const [host, port] = server.split(':') as [string, string];
    const client = await start('client', { kind: 'static', members: [{ host, port: Number(port) }] });
    const asked = await runToEnd(['command', '--node', client, 'ask']);
    expect(asked, asked.stderr).toMatchObject({ code: 0, stdout: 'server answers client' });
    const connections = await runToEnd(['command', '--node', server, '--name', 'operator', 'connections']);
    expect((JSON.parse(connections.stdout) as { name: string; direction: string }[]).find((c) => c.name === 'client')).toMatchObject({
      direction: 'in',
    });
  }, 120_000);
});
