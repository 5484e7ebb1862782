import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tcpTransport } from '@systemge/transport-tcp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backoffDelay } from '../src/connect/backoff.js';
import { loadNodeConfig, MAX_TIMER_MS, type NodeConfig, resolveNodeConfig } from '../src/index.js';
import { endpointOf, startNode } from './helpers.js';

const transport = tcpTransport();
const THIRTY_DAYS = 30 * 24 * 3600 * 1000;

function configError(config: unknown): { code?: string; path?: string; message: string } {
  try {
    resolveNodeConfig(config as NodeConfig);
  } catch (error) {
    return error as { code?: string; path?: string; message: string };
  }
  throw new Error('expected an invalid config');
}

/** Sets `path` (dotted) in a fresh config to `value`. */
function withField(path: string, value: unknown): Record<string, unknown> {
  const config: Record<string, unknown> = { name: 'n', transport };
  const keys = path.split('.');
  let at = config;
  for (const key of keys.slice(0, -1)) at = (at[key] ??= {}) as Record<string, unknown>;
  at[keys.at(-1) as string] = value;
  return config;
}

// Every timer option of the node config, with the smallest value it takes (0 where it means "off"/"none").
const TIMER_OPTIONS: [path: string, min: number][] = [
  ['sync.timeoutMs', 1],
  ['connection.initialDelayMs', 0],
  ['connection.maxDelayMs', 0],
  ['connection.dialTimeoutMs', 1],
  ['connection.handshakeTimeoutMs', 1],
  ['heartbeat.intervalMs', 0],
  ['heartbeat.timeoutMs', 1],
  ['shutdownTimeoutMs', 0],
  ['access.attemptWindowMs', 1],
];

describe('timer options in the node config', () => {
  describe.each(TIMER_OPTIONS)('%s', (path, min) => {
    it.each([
      ['2^31', 2 ** 31],
      ['30 days', THIRTY_DAYS],
      ['1e12', 1e12],
      ['Infinity', Number.POSITIVE_INFINITY],
      ['NaN', Number.NaN],
      ['-1', -1],
      ['below its minimum', min - 1],
      ['1.5', 1.5],
    ])('refuses %s naming the field and the timer maximum', (_what, value) => {
      const error = configError(withField(path, value));
      expect(error.code).toBe('SYSTEMGE_ERR_INVALID_CONFIG');
      expect(error.path).toBe(path);
      expect(error.message).toContain(`expected an integer from ${min} to 2147483647 ms`);
    });

    it(`accepts ${min} and MAX_TIMER_MS`, () => {
      for (const value of [min, MAX_TIMER_MS]) {
        const config = withField(path, value);
        // heartbeat.timeoutMs must stay above heartbeat.intervalMs.
        if (path === 'heartbeat.timeoutMs') config.heartbeat = { intervalMs: 0, timeoutMs: value };
        if (path === 'heartbeat.intervalMs') config.heartbeat = { intervalMs: Math.min(value, MAX_TIMER_MS - 1), timeoutMs: MAX_TIMER_MS };
        expect(() => resolveNodeConfig(config as unknown as NodeConfig)).not.toThrow();
      }
    });
  });

  it('a config file with sync.timeoutMs 1e12 fails to load, naming the file and the field', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'systemge-timers-'));
    try {
      const file = join(dir, 'node.json');
      await writeFile(file, JSON.stringify({ name: 'n', sync: { timeoutMs: 1e12 } }));
      expect(() => loadNodeConfig(file)).toThrow(
        expect.objectContaining({ code: 'SYSTEMGE_ERR_INVALID_CONFIG', path: 'sync.timeoutMs', message: expect.stringContaining(file) }),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('backoff delays never exceed MAX_TIMER_MS, whatever the jitter', () => {
    const policy = {
      ...resolveNodeConfig({ name: 'n', transport }).connection,
      initialDelayMs: MAX_TIMER_MS,
      maxDelayMs: MAX_TIMER_MS,
      jitter: 1,
    };
    for (const attempt of [1, 2, 50]) {
      expect(backoffDelay(policy, attempt, () => 1)).toBe(MAX_TIMER_MS);
      expect(backoffDelay(policy, attempt, () => 0)).toBe(0);
    }
  });
});

describe('syncRequest timeoutMs', () => {
  const warnings: Error[] = [];
  const onWarning = (w: Error): void => {
    warnings.push(w);
  };
  beforeEach(() => {
    warnings.length = 0;
    process.on('warning', onWarning);
  });
  afterEach(() => {
    process.off('warning', onWarning);
  });

  it.each([
    ['2^31', 2 ** 31],
    ['30 days', THIRTY_DAYS],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['0', 0],
    ['-5', -5],
    ['NaN', Number.NaN],
  ])('%s fails the request with SYSTEMGE_ERR_INVALID_ARGUMENT; nothing is sent', async (_what, timeoutMs) => {
    const server = await startNode({ name: 'server' }, { getSyncMessageHandlers: () => ({ echo: (m) => m.payload }) });
    const client = await startNode({ name: 'client', endpoints: [endpointOf(server)] });
    const request = client.syncRequest('echo', 'x', { timeoutMs });
    await expect(request.all()).rejects.toMatchObject({
      code: 'SYSTEMGE_ERR_INVALID_ARGUMENT',
      argument: 'options.timeoutMs',
      message: expect.stringContaining('2147483647'),
    });
    expect(request.outcome).toBe('failed');
    expect(client.stats.syncRequestsSent).toBe(0);
    expect(warnings.filter((w) => w.name === 'TimeoutOverflowWarning')).toEqual([]);
  });

  it('a negative maxResponses fails the request with SYSTEMGE_ERR_INVALID_ARGUMENT', async () => {
    const node = await startNode({ name: 'n' });
    await expect(node.syncRequest('t', '', { maxResponses: -1 }).all()).rejects.toMatchObject({
      code: 'SYSTEMGE_ERR_INVALID_ARGUMENT',
      argument: 'options.maxResponses',
    });
  });

  it('MAX_TIMER_MS waits for a slow answer instead of settling as a timeout at once', async () => {
    const server = await startNode(
      { name: 'server' },
      { getSyncMessageHandlers: () => ({ slow: () => new Promise<string>((resolve) => setTimeout(() => resolve('late'), 100)) }) },
    );
    const client = await startNode({ name: 'client', endpoints: [endpointOf(server)] });
    const request = client.syncRequest('slow', '', { timeoutMs: MAX_TIMER_MS });
    const responses = await request.all();
    expect(request.outcome).toBe('complete');
    expect(responses).toMatchObject([{ ok: true, payload: 'late' }]);
    expect(warnings.filter((w) => w.name === 'TimeoutOverflowWarning')).toEqual([]);
  });
});
