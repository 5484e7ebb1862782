import { tcpTransport } from '@systemge/transport-tcp';
import { afterEach, describe, expect, it } from 'vitest';
import { createNode, type Logger, type NodeConfig, type SystemgeNode } from '../src/index.js';

const nodes: SystemgeNode[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop().catch(() => {})));
});

/** Starts a node and returns what it warned about (events and warn-level log lines). */
async function warningsAtStart(config: Partial<NodeConfig>): Promise<{ events: Error[]; logged: string[] }> {
  const logged: string[] = [];
  const noop = (): void => {};
  const logger: Logger = {
    trace: noop,
    debug: noop,
    info: noop,
    warn: (obj: object | string, msg?: string) => logged.push(`${JSON.stringify(obj)} ${msg ?? ''}`),
    error: noop,
    child: () => logger,
  };
  const node = createNode({ name: 'n', transport: tcpTransport(), ...config }, {}, { logger });
  nodes.push(node);
  const events: Error[] = [];
  node.on('warning', (error) => events.push(error));
  await node.start();
  return { events, logged };
}

// Binding every interface is needed to see the warning; nothing is sent anywhere.
describe('a node listening beyond loopback without authentication', () => {
  it('starts with a warning event SYSTEMGE_ERR_INSECURE_LISTEN and a logged warning', async () => {
    const { events, logged } = await warningsAtStart({ listen: { host: '0.0.0.0', port: 0 } });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ code: 'SYSTEMGE_ERR_INSECURE_LISTEN', host: '0.0.0.0' });
    expect(events[0]?.message).toMatch(/0\.0\.0\.0:\d+, which is not a loopback address, without authentication/);
    expect(logged.some((l) => l.includes('SYSTEMGE_ERR_INSECURE_LISTEN'))).toBe(true);
  });

  it.each([
    ['with auth.token', { listen: { host: '0.0.0.0', port: 0 }, auth: { token: 'secret' } }],
    ['with auth.peerTokens', { listen: { host: '0.0.0.0', port: 0 }, auth: { peerTokens: { a: 'secret' } } }],
    ['on 127.0.0.1', { listen: { host: '127.0.0.1', port: 0 } }],
    ['on ::1', { listen: { host: '::1', port: 0 } }],
    ['not listening', { listen: false as const }],
  ])('starts without that warning %s', async (_what, config) => {
    const { events, logged } = await warningsAtStart(config);
    expect(events).toEqual([]);
    expect(logged.filter((l) => l.includes('INSECURE'))).toEqual([]);
  });

  it('starts without that warning when the transport verifies peer certificates (mutual TLS)', async () => {
    const tcp = tcpTransport();
    const verifying = { name: 'tcp', verifiesPeers: true, listen: tcp.listen.bind(tcp), dial: tcp.dial.bind(tcp) };
    const { events } = await warningsAtStart({ listen: { host: '0.0.0.0', port: 0 }, transport: verifying });
    expect(events).toEqual([]);
  });
});
