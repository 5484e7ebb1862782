import { describe, expect, it } from 'vitest';
import * as node from '../src/index.js';
import { startNode } from './helpers.js';

describe('@systemge/node exports public API only', () => {
  it('exports no internals: access checks live in @systemge/access, the dashboard link in @systemge/dashboard-link', () => {
    const names = Object.keys(node);
    for (const internal of [
      'TokenBucket',
      'AddressList',
      'unmapIPv4',
      'isLoopbackHost',
      'backoffDelay',
      'newSyncToken',
      'ConnectProgressLog',
      'CONNECT_PROGRESS_INTERVAL_MS',
      'connectDashboard',
      'describeNode',
      'pluginMetricsOf',
      'DASHBOARD_DESCRIBE_TOPIC',
      'InsecureLinkError',
      'encodeCommandResult',
    ]) {
      expect(names, internal).not.toContain(internal);
    }
  });

  it('tells whether the handshake authenticates peers, without exposing the configuration', async () => {
    const open = await startNode({ name: 'open' });
    const token = await startNode({ name: 'token', auth: { token: 't' } });
    const perPeer = await startNode({ name: 'per-peer', auth: { peerTokens: { a: 'x' } } });
    expect([open.authenticatesPeers, token.authenticatesPeers, perPeer.authenticatesPeers]).toEqual([false, true, true]);
    expect(Object.keys(token)).not.toContain('auth');
  });
});
