import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../src/index.js';
import { testIO } from './io.js';

const dir = mkdtempSync(join(tmpdir(), 'systemge-cli-remote-commands-'));

async function validate(name: string, node: Record<string, unknown>): Promise<{ code: number; message: string }> {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify({ nodes: [{ name: 'a', ...node }] }));
  const io = testIO();
  const code = await main(['validate', file], io);
  return { code, message: [...io.stdout, ...io.stderr].join('\n') };
}

describe('commands.remote in a configuration file', () => {
  it('refuses remote commands on a non-loopback host without peer authentication, naming the field', async () => {
    const open = await validate('open.json', { listen: { host: '0.0.0.0', port: 0 }, commands: { remote: true } });
    expect(open.code).toBe(1);
    expect(open.message).toMatch(
      /nodes\[0\]\.commands\.remote: any peer that reaches 0\.0\.0\.0 could run this node's commands: set auth\.token/,
    );
  });

  it('accepts it with a token, certificate names, on loopback, or when explicitly allowed', async () => {
    const wide = { host: '0.0.0.0', port: 0 };
    expect(
      (await validate('token.json', { listen: wide, auth: { token: 't' }, commands: { remote: true, peers: ['ops'], allow: ['stats'] } }))
        .code,
    ).toBe(0);
    expect((await validate('loopback.json', { commands: { remote: true } })).code).toBe(0);
    expect((await validate('allowed.json', { listen: wide, commands: { remote: true, allowUnauthenticated: true } })).code).toBe(0);
    expect((await validate('off.json', { listen: wide, commands: { remote: false } })).code).toBe(0);
  });

  it('checks the fields', async () => {
    const wrong = await validate('wrong.json', { commands: { remote: 'yes' } });
    expect(wrong.message).toMatch(/nodes\[0\]\.commands\.remote: expected true or false, got "yes"/);
    const unknown = await validate('unknown.json', { commands: { remotely: true } });
    expect(unknown.message).toMatch(
      /nodes\[0\]\.commands\.remotely: unknown field; known fields: remote, peers, allow, allowUnauthenticated/,
    );
  });
});
