import { mkdtempSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExitCode, main } from '../src/index.js';
import { testIO } from './io.js';

const dir = mkdtempSync(join(tmpdir(), 'systemge-cli-validate-'));
copyFileSync(new URL('./fixtures/echo-app.js', import.meta.url), join(dir, 'echo-app.js'));

function write(name: string, content: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return file;
}

async function validate(file: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; message: string }> {
  const io = testIO(env);
  const code = await main(['validate', file], io);
  return { code, message: [...io.stdout, ...io.stderr].join('\n') };
}

const good = { nodes: [{ name: 'a', application: './echo-app.js', listen: { port: 0 } }] };

describe('systemge validate', () => {
  it('accepts a valid JSON and a valid YAML file', async () => {
    expect(await validate(write('good.json', good))).toEqual({ code: 0, message: expect.stringContaining('valid') });
    const yaml = 'nodes:\n  - name: a\n    application: ./echo-app.js\n    listen:\n      port: 0\n';
    expect((await validate(write('good.yaml', yaml))).code).toBe(ExitCode.ok);
  });

  const broken: [string, unknown, RegExp][] = [
    ['missing name', { nodes: [{ listen: { port: 0 } }] }, /missing-name\.json: nodes\[0\]\.name: required field is missing/],
    [
      'bad port',
      { nodes: [{ name: 'a', listen: { port: 70000 } }] },
      /nodes\[0\]\.listen\.port: expected an integer from 0 to 65535, got number 70000/,
    ],
    ['unknown field', { nodes: [{ name: 'a', colour: 'blue' }] }, /nodes\[0\]\.colour: unknown field; known fields: name, listen/],
    [
      'wrong type',
      { nodes: [{ name: 'a', sync: { timeoutMs: 'soon' } }] },
      /nodes\[0\]\.sync\.timeoutMs: expected an integer from 1 to \d+ ms \(the Node.js timer maximum\), got "soon"/,
    ],
    [
      'missing cert file',
      { nodes: [{ name: 'a', transport: { kind: 'tls', certFile: './nope.crt', keyFile: './nope.key' } }] },
      /nodes\[0\]\.transport\.certFile: file not found: .*nope\.crt/,
    ],
    [
      'duplicate node names',
      { nodes: [{ name: 'a' }, { name: 'a' }] },
      /nodes\[1\]\.name: duplicate node name "a" \(also nodes\[0\]\.name\)/,
    ],
    ['missing application module', { nodes: [{ name: 'a', application: './missing.js' }] }, /nodes\[0\]\.application: file not found/],
    [
      'endpoint without port',
      { nodes: [{ name: 'a', endpoints: [{ host: '127.0.0.1' }] }] },
      /nodes\[0\]\.endpoints\[0\]\.port: required field is missing/,
    ],
    [
      'bad handling mode',
      { nodes: [{ name: 'a', handling: { mode: 'parallel' } }] },
      /nodes\[0\]\.handling\.mode: expected one of "concurrent", "sequential-connection", "sequential-node", got "parallel"/,
    ],
    [
      'same port twice',
      {
        nodes: [
          { name: 'a', listen: { port: 4000 } },
          { name: 'b', http: { port: 4000 } },
        ],
      },
      /nodes\[1\]\.http\.port: port 4000 is also used by nodes\[0\]\.listen\.port/,
    ],
    ['no nodes', { nodes: [] }, /: nodes: expected a non-empty array of nodes, got an array/],
    [
      'unset environment variable',
      { nodes: [{ name: 'a', auth: { token: '${SYSTEMGE_TEST_TOKEN}' } }] },
      /nodes\[0\]\.auth\.token: environment variable SYSTEMGE_TEST_TOKEN is not set/,
    ],
    [
      'websocket sharePort without http',
      { nodes: [{ name: 'a', websocket: { sharePort: true } }] },
      /nodes\[0\]\.websocket\.sharePort: needs an "http" section/,
    ],
    [
      'heartbeat timeout not above interval',
      { nodes: [{ name: 'a', heartbeat: { intervalMs: 1000, timeoutMs: 500 } }] },
      /nodes\[0\]\.heartbeat\.timeoutMs: must be greater than heartbeat\.intervalMs/,
    ],
  ];

  for (const [name, content, expected] of broken) {
    it(`rejects a config with ${name}`, async () => {
      const file = write(`${name.replaceAll(' ', '-')}.json`, content);
      const result = await validate(file);
      expect(result.code).toBe(ExitCode.failed);
      expect(result.message).toMatch(expected);
    });
  }

  it('rejects a file that is not JSON, naming the file', async () => {
    const result = await validate(write('broken.json', '{ "nodes": [ '));
    expect(result.code).toBe(ExitCode.failed);
    expect(result.message).toMatch(/broken\.json: not valid JSON/);
  });

  it('reads ${NAME} values from the environment', async () => {
    const file = write('env.json', { nodes: [{ name: 'a', auth: { token: '${SYSTEMGE_TEST_TOKEN}' } }] });
    expect((await validate(file, { SYSTEMGE_TEST_TOKEN: 'x' })).code).toBe(ExitCode.ok);
  });

  it('reports a missing file and usage errors with their exit codes', async () => {
    expect((await validate(join(dir, 'absent.json'))).message).toMatch(/absent\.json: cannot read the file/);
    const io = testIO();
    expect(await main(['validate'], io)).toBe(ExitCode.usage);
    expect(await main(['frobnicate'], io)).toBe(ExitCode.usage);
    expect(await main(['start', 'a.json', '--bogus'], io)).toBe(ExitCode.usage);
    expect(io.stderr.join('\n')).toMatch(/unknown command "frobnicate"/);
  });

  it('prints help for every command', async () => {
    for (const args of [['--help'], ['start', '--help'], ['validate', '--help'], ['command', '--help']]) {
      const io = testIO();
      expect(await main(args, io)).toBe(ExitCode.ok);
      expect(io.stdout.join('\n')).toMatch(/^Usage: systemge/);
    }
  });
});
