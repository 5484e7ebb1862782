import { tcpTransport } from '@systemge/transport-tcp';
import { describe, expect, it } from 'vitest';
import {
  type ConfigIssue,
  createNode,
  MAX_TIMER_MS,
  type NodeConfig,
  NodeConfigSchema,
  resolveNodeConfig,
  schemaIssues,
} from '../src/index.js';

const transport = tcpTransport();

function issuesOf(config: unknown): readonly ConfigIssue[] {
  try {
    resolveNodeConfig(config as NodeConfig);
  } catch (error) {
    expect(error).toMatchObject({ code: 'SYSTEMGE_ERR_INVALID_CONFIG' });
    return (error as { issues: readonly ConfigIssue[] }).issues;
  }
  throw new Error('expected SYSTEMGE_ERR_INVALID_CONFIG, nothing was thrown');
}

describe('a config with several problems', () => {
  it('reports every one, each with its exact field path, schema problems first, then cross-field rules', () => {
    const issues = issuesOf({
      name: '',
      listen: { port: 70_000, hots: 'x' },
      endpoints: [{ host: 'a', port: 1 }, { port: 'x' }],
      sync: { timeoutMs: 1e12 },
      connection: { highWaterMark: 100, maxBufferedBytes: 10, onLoss: 'ignore' },
      heartbeat: { intervalMs: 1000, timeoutMs: 500 },
      access: { allow: ['10.0.0.0/33'] },
    });
    expect(issues.map((i) => i.path)).toEqual([
      'name',
      'listen.hots',
      'listen.port',
      'endpoints[1].host',
      'endpoints[1].port',
      'sync.timeoutMs',
      'connection.onLoss',
      'transport',
      'connection.maxBufferedBytes',
      'heartbeat.timeoutMs',
      'access.allow[0]',
    ]);
    const text = Object.fromEntries(issues.map((i) => [i.path, i.message]));
    expect(text['sync.timeoutMs']).toBe(
      `expected an integer from 1 to ${MAX_TIMER_MS} ms (the Node.js timer maximum), got number 1000000000000`,
    );
    expect(text['listen.hots']).toMatch(/^unknown field; known fields: host, port$/);
    expect(text['endpoints[1].host']).toBe('required field is missing');
    expect(text['connection.onLoss']).toBe('expected one of "reconnect", "stop", got "ignore"');
    expect(text['access.allow[0]']).toMatch(/prefix of "10.0.0.0\/33" must be 0 to 32/);
  });

  it('puts every issue on its own line of the message, the first one also in `path`', () => {
    try {
      createNode({ name: 'n', transport, sync: { timeoutMs: 0, maxResponses: -1 } } as NodeConfig);
      expect.unreachable();
    } catch (error) {
      const e = error as { path: string; message: string };
      expect(e.path).toBe('sync.timeoutMs');
      expect(e.message.split('\n')).toEqual([
        `invalid config at sync.timeoutMs: expected an integer from 1 to ${MAX_TIMER_MS} ms (the Node.js timer maximum), got number 0`,
        `invalid config at sync.maxResponses: expected an integer from 0 to ${Number.MAX_SAFE_INTEGER}, got number -1`,
      ]);
    }
  });

  it('listen: false or an object; an object gets its own field errors', () => {
    expect(issuesOf({ name: 'n', transport, listen: true })).toEqual([
      { path: 'listen', message: 'expected false or an object, got boolean true' },
    ]);
    expect(issuesOf({ name: 'n', transport, listen: { port: -1 } })).toEqual([
      { path: 'listen.port', message: 'expected an integer from 0 to 65535, got number -1' },
    ]);
  });
});

describe('the node config schema', () => {
  it('is plain JSON Schema with defaults and a description on every option', () => {
    const json = JSON.parse(JSON.stringify(NodeConfigSchema)) as { properties: Record<string, { description?: string }> };
    expect(json.properties.sync).toMatchObject({
      properties: { timeoutMs: { type: 'integer', minimum: 1, maximum: MAX_TIMER_MS, default: 5000 } },
    });
    expect(json.properties.heartbeat).toMatchObject({ properties: { intervalMs: { minimum: 0, default: 5000 } } });
    const undocumented: string[] = [];
    const walk = (schema: Record<string, unknown>, path: string): void => {
      const props = schema.properties as Record<string, Record<string, unknown>> | undefined;
      for (const [key, sub] of Object.entries(props ?? {})) {
        if (typeof sub.description !== 'string' || sub.description.length === 0) undocumented.push(`${path}${key}`);
        walk(sub, `${path}${key}.`);
        for (const variant of (sub.anyOf as Record<string, unknown>[] | undefined) ?? []) walk(variant, `${path}${key}.`);
        if (typeof sub.items === 'object') walk(sub.items as Record<string, unknown>, `${path}${key}[].`);
      }
    };
    walk(json as unknown as Record<string, unknown>, '');
    expect(undocumented).toEqual([]);
  });

  it('schemaIssues reports paths through arrays and records', () => {
    expect(
      schemaIssues(NodeConfigSchema, { name: 'n', endpoints: [{ host: 'h', port: 1, extra: 1 }], auth: { peerTokens: { a: '' } } }),
    ).toEqual([
      { path: 'endpoints[0].extra', message: 'unknown field; known fields: host, port, name, serverName, ca, token' },
      { path: 'auth.peerTokens.a', message: 'expected a non-empty string, got ""' },
    ]);
  });
});
