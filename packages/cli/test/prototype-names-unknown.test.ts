import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExitCode, main } from '../src/index.js';
import { testIO } from './io.js';

/** Names that an object lookup would find on `Object.prototype`. */
const PROTOTYPE_NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'];

const dir = mkdtempSync(join(tmpdir(), 'systemge-cli-proto-'));
copyFileSync(new URL('./fixtures/echo-app.js', import.meta.url), join(dir, 'echo-app.js'));

/** Writes JSON text as is, so that `"__proto__"` stays a key the way a real file has it. */
function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

async function run(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; message: string }> {
  const io = testIO(env);
  const code = await main(argv, io);
  return { code, message: [...io.stdout, ...io.stderr].join('\n') };
}

describe('names that exist on Object.prototype', () => {
  it('are unknown subcommands', async () => {
    for (const name of PROTOTYPE_NAMES) {
      const result = await run([name, 'a', 'b', '--dashboard', 'http://127.0.0.1:9']);
      expect(result, name).toEqual({ code: ExitCode.usage, message: `systemge: unknown command "${name}"; try systemge --help` });
    }
  });

  it('are unknown config fields at every level', async () => {
    for (const [i, name] of PROTOTYPE_NAMES.entries()) {
      const key = JSON.stringify(name);
      for (const [text, path] of [
        [`{ "nodes": [{ "name": "a" }], ${key}: { "name": "x" } }`, name],
        [`{ "nodes": [{ "name": "a", ${key}: { "name": "x" } }] }`, `nodes[0].${name}`],
        [`{ "nodes": [{ "name": "a", "sync": { ${key}: 1 } }] }`, `nodes[0].sync.${name}`],
        [`{ "nodes": [{ "name": "a", "http": { ${key}: 1 } }] }`, `nodes[0].http.${name}`],
        [`{ "nodes": [{ "name": "a", "websocket": { ${key}: 1 } }] }`, `nodes[0].websocket.${name}`],
      ] as const) {
        const result = await run(['validate', write(`field-${i}.json`, text)]);
        expect(result.code, text).toBe(ExitCode.failed);
        expect(result.message, text).toContain(`${path}: unknown field`);
      }
    }
  });

  it('are unset environment variables', async () => {
    for (const [i, name] of PROTOTYPE_NAMES.entries()) {
      const file = write(`env-${i}.json`, JSON.stringify({ nodes: [{ name: 'a', auth: { token: `\${${name}}` } }] }));
      const result = await run(['validate', file], {});
      expect(result.code, name).toBe(ExitCode.failed);
      expect(result.message).toContain(`nodes[0].auth.token: environment variable ${name} is not set`);
    }
    const file = write('env-set.json', JSON.stringify({ nodes: [{ name: 'a', auth: { token: '${constructor}' } }] }));
    expect((await run(['validate', file], { constructor: 'secret' })).code).toBe(ExitCode.ok);
  });
});

describe('timer fields of the HTTP and WebSocket sections', () => {
  it('are refused above what a Node timer holds, as the components refuse them', async () => {
    for (const [i, [section, field, value]] of (
      [
        ['http', 'requestTimeoutMs', 2 ** 31],
        ['http', 'keepAliveTimeoutMs', 1e12],
        ['websocket', 'pingIntervalMs', 2 ** 31],
        ['websocket', 'slowClientTimeoutMs', 0],
      ] as const
    ).entries()) {
      const file = write(`timer-${i}.json`, JSON.stringify({ nodes: [{ name: 'a', [section]: { [field]: value } }] }));
      const result = await run(['validate', file]);
      expect(result.code, field).toBe(ExitCode.failed);
      expect(result.message).toContain(`nodes[0].${section}.${field}: expected an integer from`);
      expect(result.message).toContain('2147483647');
    }
    const ok = write(
      'timer-ok.json',
      JSON.stringify({ nodes: [{ name: 'a', websocket: { slowClientTimeoutMs: 2000, hardMaxBufferedBytes: 1 << 26 } }] }),
    );
    expect((await run(['validate', ok])).code).toBe(ExitCode.ok);
  });
});
