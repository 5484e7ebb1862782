import { describe, expect, it } from 'vitest';
import type { Logger } from '../src/index.js';
import { endpointOf, startNode } from './helpers.js';

function capturingLogger(lines: string[]): Logger {
  const log = (obj: object | string, msg?: string): void => {
    lines.push(typeof obj === 'string' ? obj : `${JSON.stringify(obj)} ${msg ?? ''}`);
  };
  const logger: Logger = { trace: log, debug: log, info: log, warn: log, error: log, child: () => logger };
  return logger;
}

describe('handshake token authentication', () => {
  it('refuses a wrong or missing token with "authentication failed" and accepts the right one', async () => {
    const lines: string[] = [];
    const secret = 's3cret-token-value';
    const server = await startNode(
      { name: 'server', auth: { token: secret } },
      { getSyncMessageHandlers: () => ({ ping: () => 'pong' }) },
      { logger: capturingLogger(lines) },
    );
    const wrong = await startNode(
      { name: 'wrong', connection: { maxAttempts: 1 }, auth: { token: 'not-it' } },
      {},
      { logger: capturingLogger(lines) },
    );
    // A refused token is final: the typed error itself, not retried.
    await expect(wrong.connect(endpointOf(server))).rejects.toMatchObject({
      code: 'SYSTEMGE_ERR_AUTH_FAILED',
      message: 'authentication failed',
    });
    const missing = await startNode({ name: 'missing', connection: { maxAttempts: 1 } });
    await expect(missing.connect(endpointOf(server))).rejects.toMatchObject({ code: 'SYSTEMGE_ERR_AUTH_FAILED' });
    const right = await startNode(
      { name: 'right', endpoints: [{ ...endpointOf(server), token: secret }] },
      {},
      { logger: capturingLogger(lines) },
    );
    expect(await right.syncRequest('ping', '').first()).toBe('pong');
    expect(server.stats.handshakeFailures).toBe(2);
    expect(lines.some((l) => l.includes('authentication failed'))).toBe(true);
    expect(lines.join('\n')).not.toContain(secret);
    expect(lines.join('\n')).not.toContain('not-it');
  });

  it('checks per-peer tokens by announced name', async () => {
    const server = await startNode({ name: 'server', auth: { token: 'shared', peerTokens: { special: 'own' } } });
    const special = await startNode({ name: 'special', connection: { maxAttempts: 1 }, auth: { token: 'shared' } });
    await expect(special.connect(endpointOf(server))).rejects.toMatchObject({ code: 'SYSTEMGE_ERR_AUTH_FAILED' });
    await special.connect({ ...endpointOf(server), token: 'own' });
    const plain = await startNode({ name: 'plain', auth: { token: 'shared' }, endpoints: [endpointOf(server)] });
    expect(plain.peers().map((p) => p.name)).toEqual(['server']);
  });
});
