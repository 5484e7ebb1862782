import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type ConfigFileError, ExitCode, loadConfigFile, main } from '../src/index.js';
import { testIO } from './io.js';

const dir = mkdtempSync(join(tmpdir(), 'systemge-cli-errors-'));
copyFileSync(new URL('./fixtures/echo-app.js', import.meta.url), join(dir, 'echo-app.js'));

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

async function validate(file: string): Promise<{ code: number; stderr: string[] }> {
  const io = testIO();
  const code = await main(['validate', file], io);
  return { code, stderr: io.stderr.flatMap((l) => l.split('\n')) };
}

function thrown(fn: () => unknown): ConfigFileError {
  try {
    fn();
  } catch (error) {
    expect(error).toMatchObject({ code: 'SYSTEMGE_ERR_CONFIG_FILE' });
    return error as ConfigFileError;
  }
  throw new Error('expected SYSTEMGE_ERR_CONFIG_FILE');
}

describe('configuration file errors', () => {
  it('are all reported at once, each with its field path, node rules and file rules together', async () => {
    const file = write(
      'many.json',
      JSON.stringify({
        nodes: [
          {
            name: 'a',
            sync: { timeoutMs: 1e12 },
            heartbeat: { intervalMs: 1000, timeoutMs: 10 },
            colour: 'blue',
            transport: { kind: 'tcp', caFile: 'x' },
            endpoints: [{ host: 'h' }],
            auth: { token: '${SYSTEMGE_UNSET_FOR_TEST}' },
          },
          { name: 'b', http: { port: 4000 } },
          { name: 'c', listen: { port: 4000 }, application: './missing.js' },
          { name: 'c', websocket: { sharePort: true } },
        ],
        dashboard: { host: '0.0.0.0' },
      }),
    );
    const error = thrown(() => loadConfigFile(file, {}));
    expect(error.file).toBe(file);
    expect(error.issues.map((i) => i.path)).toEqual([
      'nodes[0].auth.token',
      'nodes[0].colour',
      'nodes[0].endpoints[0].port',
      'nodes[0].sync.timeoutMs',
      'nodes[0].transport.caFile',
      'nodes[0].heartbeat.timeoutMs',
      'nodes[2].application',
      'nodes[2].listen.port',
      'nodes[3].name',
      'nodes[3].websocket.sharePort',
      'dashboard.token',
    ]);
    const byPath = Object.fromEntries(error.issues.map((i) => [i.path, i.message]));
    expect(byPath['nodes[0].sync.timeoutMs']).toBe(
      'expected an integer from 1 to 2147483647 ms (the Node.js timer maximum), got number 1000000000000',
    );
    expect(byPath['nodes[0].transport.caFile']).toBe('not an option of "kind": "tcp"');
    expect(byPath['nodes[2].listen.port']).toBe('port 4000 is also used by nodes[1].http.port');

    const result = await validate(file);
    expect(result.code).toBe(ExitCode.failed);
    expect(result.stderr[0]).toBe('systemge: invalid configuration: 11 problems');
    expect(result.stderr.slice(1)).toHaveLength(11);
    for (const line of result.stderr.slice(1))
      expect(line.startsWith(`${file}: nodes[`) || line.startsWith(`${file}: dashboard.`), line).toBe(true);
  });

  it('a YAML indentation error names the absolute file and shows the lines with a caret under the culprit', async () => {
    const file = write('indent.yaml', 'nodes:\n  - name: a\n    listen:\n      port: 0\n     bad: 1\n  - name: b\n');
    const result = await validate(relative(process.cwd(), file));
    expect(result.code).toBe(ExitCode.failed);
    expect(result.stderr).toEqual([
      `systemge: invalid configuration: ${file}: not valid YAML: All mapping items must start at the same column (line 5, column 6)`,
      '  3 |     listen:',
      '  4 |       port: 0',
      '> 5 |      bad: 1',
      '    |      ^',
      '  6 |   - name: b',
    ]);
  });

  it('every YAML syntax error is reported', () => {
    const file = write('two-errors.yaml', 'nodes:\n  - name: a\n    name: b\n  - name: "c\n');
    const error = thrown(() => loadConfigFile(file, {}));
    expect(error.issues.length).toBeGreaterThanOrEqual(2);
    for (const issue of error.issues) expect(issue.message).toMatch(/^not valid YAML: .*\(line \d+, column \d+\)\n[\s\S]*\^/);
  });

  it('a JSON syntax error names the absolute file and shows the lines with a caret', async () => {
    const file = write('comma.json', '{\n  "nodes": [\n    { "name": "a" }\n    { "name": "b" }\n  ]\n}\n');
    const result = await validate(relative(process.cwd(), file));
    expect(result.code).toBe(ExitCode.failed);
    expect(result.stderr[0]).toMatch(
      new RegExp(
        `^systemge: invalid configuration: ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: not valid JSON: .* \\(line 4, column 5\\)$`,
      ),
    );
    expect(result.stderr.slice(1)).toEqual([
      '  2 |   "nodes": [',
      '  3 |     { "name": "a" }',
      '> 4 |     { "name": "b" }',
      '    |     ^',
      '  5 |   ]',
    ]);
  });

  it('a file cut short points at its end', () => {
    const error = thrown(() => loadConfigFile(write('short.json', '{ "nodes": [ '), {}));
    expect(error.message).toMatch(
      /short\.json: not valid JSON: Unexpected end of JSON input \(line 1, column 14\)\n> 1 \| \{ "nodes": \[ \n {4}\| {14}\^/,
    );
  });

  it('a file that cannot be read is named by its absolute path', () => {
    const error = thrown(() => loadConfigFile(relative(process.cwd(), join(dir, 'absent.json')), {}));
    expect(error.file).toBe(join(dir, 'absent.json'));
    expect(error.message).toMatch(/^\/.*absent\.json: cannot read the file/);
  });
});
