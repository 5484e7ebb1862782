import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tcpTransport } from '@systemge/transport-tcp';
import { afterEach, describe, expect, it } from 'vitest';
import { createNode, loadNodeConfig, type NodeConfig, resolveNodeConfig } from '../src/index.js';

const transport = tcpTransport();

/** The ConfigError thrown by `fn`, checked for its code. */
function configError(fn: () => unknown): { path: string; message: string } {
  try {
    fn();
  } catch (error) {
    expect(error).toMatchObject({ code: 'SYSTEMGE_ERR_INVALID_CONFIG' });
    return error as { path: string; message: string };
  }
  throw new Error('expected SYSTEMGE_ERR_INVALID_CONFIG, nothing was thrown');
}

const invalid = (config: unknown) => configError(() => createNode(config as NodeConfig));

describe('config validation names the exact field', () => {
  it.each<[string, unknown, string, RegExp]>([
    ['missing name', { transport }, 'name', /required/],
    ['empty name', { name: '', transport }, 'name', /non-empty string/],
    ['name of the wrong type', { name: 42, transport }, 'name', /got number 42/],
    ['port out of range', { name: 'n', transport, listen: { port: 70_000 } }, 'listen.port', /0 to 65535, got number 70000/],
    ['port not an integer', { name: 'n', transport, listen: { port: 80.5 } }, 'listen.port', /integer/],
    ['unknown top-level field', { name: 'n', transport, lsiten: {} }, 'lsiten', /unknown field; known fields: .*listen/],
    [
      'unknown nested field',
      { name: 'n', transport, sync: { timeout: 5 } },
      'sync.timeout',
      /unknown field; known fields: timeoutMs, maxResponses/,
    ],
    ['wrong type', { name: 'n', transport, sync: { timeoutMs: '5000' } }, 'sync.timeoutMs', /got "5000"/],
    ['endpoints not an array', { name: 'n', transport, endpoints: {} }, 'endpoints', /array/],
    [
      'second endpoint port',
      {
        name: 'n',
        transport,
        endpoints: [
          { host: 'a', port: 1 },
          { host: 'b', port: 0 },
        ],
      },
      'endpoints[1].port',
      /1 to 65535, got number 0/,
    ],
    ['endpoint without host', { name: 'n', transport, endpoints: [{ port: 1 }] }, 'endpoints[0].host', /missing/],
    [
      'handling mode',
      { name: 'n', transport, handling: { mode: 'parallel' } },
      'handling.mode',
      /"concurrent", "sequential-connection", "sequential-node", got "parallel"/,
    ],
    ['queue size zero', { name: 'n', transport, handling: { queueSize: 0 } }, 'handling.queueSize', /integer from 1/],
    [
      'heartbeat timeout equal to interval',
      { name: 'n', transport, heartbeat: { intervalMs: 1000, timeoutMs: 1000 } },
      'heartbeat.timeoutMs',
      /greater than heartbeat.intervalMs \(1000\)/,
    ],
    [
      'heartbeat timeout below interval',
      { name: 'n', transport, heartbeat: { intervalMs: 1000, timeoutMs: 10 } },
      'heartbeat.timeoutMs',
      /greater than/,
    ],
    [
      'buffer limit below the high-water mark',
      { name: 'n', transport, connection: { highWaterMark: 100, maxBufferedBytes: 10 } },
      'connection.maxBufferedBytes',
      /at least connection.highWaterMark \(100\)/,
    ],
    ['limit of the wrong type', { name: 'n', transport, limits: { maxTopicBytes: 'big' } }, 'limits.maxTopicBytes', /integer/],
    ['unknown limit', { name: 'n', transport, limits: { maxTopics: 1 } }, 'limits.maxTopics', /unknown field/],
    [
      'name longer than limits.maxNodeNameBytes',
      { name: 'abcdef', transport, limits: { maxNodeNameBytes: 5 } },
      'name',
      /6 bytes exceeds limits.maxNodeNameBytes 5/,
    ],
    [
      'name over the default limit in UTF-8 bytes',
      { name: 'é'.repeat(65), transport },
      'name',
      /130 bytes exceeds limits.maxNodeNameBytes 128/,
    ],
    ['missing transport', { name: 'n' }, 'transport', /required when the node listens/],
    ['transport that is not one', { name: 'n', transport: {} }, 'transport', /expected a Transport/],
    ['not an object', 'node', '', /expected an object/],
  ])('%s', (_what, config, path, message) => {
    const error = invalid(config);
    expect(error.path).toBe(path);
    expect(error.message).toMatch(message);
    expect(error.message).toContain(`invalid config at ${path === '' ? '(root)' : path}: `);
  });

  it('accepts a node without transport that neither listens nor dials, and fills in defaults', () => {
    const resolved = resolveNodeConfig({ name: 'n', listen: false });
    expect(resolved).toMatchObject({
      listen: false,
      endpoints: [],
      handling: { mode: 'concurrent', queueSize: 1024, concurrency: 1024 },
      sync: { timeoutMs: 5000, maxResponses: 0 },
      heartbeat: { intervalMs: 5000, timeoutMs: 15_000 },
      limits: { maxNodeNameBytes: 128 },
    });
    expect(resolveNodeConfig({ name: 'n', transport }).listen).toEqual({ host: '127.0.0.1', port: 0 });
    expect(resolveNodeConfig({ name: 'n', listen: false, heartbeat: { intervalMs: 0, timeoutMs: 1 } }).heartbeat.intervalMs).toBe(0);
  });
});

describe('loadNodeConfig', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });
  const write = (name: string, text: string): string => {
    dir ??= mkdtempSync(join(tmpdir(), 'systemge-config-'));
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };

  it('reads a JSON file that createNode accepts once a transport is added', () => {
    const file = write(
      'node.json',
      JSON.stringify({
        name: 'from-file',
        listen: { port: 0 },
        endpoints: [{ host: '127.0.0.1', port: 4000, name: 'peer' }],
        handling: { mode: 'sequential-node' },
      }),
    );
    const config = loadNodeConfig(file);
    expect(config).toMatchObject({ name: 'from-file', handling: { mode: 'sequential-node' } });
    const node = createNode({ ...config, transport });
    expect(node.name).toBe('from-file');
    expect(node.status).toBe('stopped');
  });

  it('names the file in a JSON parse error', () => {
    const file = write('broken.json', '{ "name": "n", }');
    const error = configError(() => loadNodeConfig(file));
    expect(error.path).toBe('');
    expect(error.message).toContain(file);
    expect(error.message).toMatch(/not valid JSON/);
  });

  it('names the file and the field path of an invalid value', () => {
    const file = write(
      'bad.json',
      JSON.stringify({
        name: 'n',
        endpoints: [
          { host: 'a', port: 1 },
          { host: 'b', port: 'x' },
        ],
      }),
    );
    const error = configError(() => loadNodeConfig(file));
    expect(error.path).toBe('endpoints[1].port');
    expect(error.message).toContain(file);
    expect(error.message).toMatch(/^invalid config at endpoints\[1\]\.port: /);
  });

  it('checks what needs more than one field: a missing name, the heartbeat timeout', () => {
    const noName = configError(() => loadNodeConfig(write('noname.json', JSON.stringify({ listen: { port: 0 } }))));
    expect(noName.path).toBe('name');
    expect(noName.message).toContain('noname.json');
    const heartbeat = configError(() =>
      loadNodeConfig(write('hb.json', JSON.stringify({ name: 'n', heartbeat: { intervalMs: 500, timeoutMs: 400 } }))),
    );
    expect(heartbeat.path).toBe('heartbeat.timeoutMs');
  });

  it('names a file it cannot read', () => {
    const error = configError(() => loadNodeConfig(join(tmpdir(), 'systemge-no-such-file.json')));
    expect(error.message).toMatch(/cannot read .*systemge-no-such-file\.json/);
  });
});
