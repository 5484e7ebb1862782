import { tcpTransport } from '@systemge/transport-tcp';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { createDashboard } from '../src/index.js';
import { forkRemoteNodes, openFeed, startDashboard, startNode } from './helpers.js';

const TOKEN = 'auth-test-token_0123456789';

/** Collects log records; stands in for a pino logger. */
function recordingLogger() {
  const records: { level: string; obj: unknown; msg: unknown }[] = [];
  const at = (level: string) => (obj: unknown, msg?: unknown) => records.push({ level, obj, msg });
  return { records, logger: { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } };
}

describe('dashboard access', () => {
  it('refuses to be created for a non-loopback address without a token, before listening', () => {
    const code = 'SYSTEMGE_ERR_DASHBOARD_TOKEN_REQUIRED';
    expect(() => createDashboard({ host: '0.0.0.0' })).toThrow(expect.objectContaining({ code }));
    expect(() => createDashboard({ host: '192.168.1.10' })).toThrow(expect.objectContaining({ code, host: '192.168.1.10' }));
    expect(() => createDashboard({ systemge: { transport: tcpTransport(), host: '::' } })).toThrow(expect.objectContaining({ code }));
    // Loopback needs none; a token makes any address acceptable.
    expect(() => createDashboard({ host: '::1' })).not.toThrow();
    expect(() => createDashboard({ host: 'localhost' })).not.toThrow();
    expect(() => createDashboard({ host: '0.0.0.0', token: TOKEN })).not.toThrow();
  });

  it('rejects malformed options with a typed error naming the option', () => {
    const code = 'SYSTEMGE_ERR_DASHBOARD_INVALID_OPTION';
    expect(() => createDashboard({ token: '' })).toThrow(expect.objectContaining({ code, option: 'token' }));
    expect(() => createDashboard({ token: 'has space' })).toThrow(expect.objectContaining({ code, option: 'token' }));
    expect(() => createDashboard({ port: 70_000 })).toThrow(expect.objectContaining({ code, option: 'port' }));
    expect(() => createDashboard({ metricsIntervalMs: 0 })).toThrow(expect.objectContaining({ code, option: 'metricsIntervalMs' }));
  });

  it('answers 401 to API requests without the right token', async () => {
    const dashboard = await startDashboard({ token: TOKEN }, false);
    for (const headers of [
      {},
      { authorization: 'Bearer wrong-token' },
      { authorization: `Basic ${TOKEN}` },
      { authorization: `Bearer ${TOKEN}x` },
    ]) {
      const response = await dashboard.inject({ url: '/api/nodes', headers });
      expect(response.statusCode, JSON.stringify(headers)).toBe(401);
      expect(JSON.parse(response.body)).toMatchObject({ code: 'SYSTEMGE_ERR_DASHBOARD_UNAUTHORIZED' });
      expect(response.headers['www-authenticate']).toContain('Bearer');
    }
    for (const url of ['/metrics', '/api/health', '/api/nodes/x/stop']) {
      expect((await dashboard.inject({ method: url.endsWith('stop') ? 'POST' : 'GET', url })).statusCode, url).toBe(401);
    }
    const ok = await dashboard.inject({ url: '/api/nodes', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.statusCode).toBe(200);
    // The page itself holds no data.
    expect((await dashboard.inject('/')).statusCode).toBe(200);
  });

  it('checks the token over a real socket, for HTTP and for the WebSocket upgrade', async () => {
    const dashboard = await startDashboard({ token: TOKEN });
    const wrong = await request(`${dashboard.url}/api/nodes`, { headers: { authorization: 'Bearer nope' } });
    expect(wrong.statusCode).toBe(401);
    await wrong.body.dump();
    const right = await request(`${dashboard.url}/api/nodes`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(right.statusCode).toBe(200);
    await right.body.dump();

    await expect(openFeed(dashboard)).rejects.toMatchObject({ statusCode: 401 });
    await expect(openFeed(dashboard, { token: 'wrong-token' })).rejects.toMatchObject({ statusCode: 401 });
    const feed = await openFeed(dashboard, { token: TOKEN });
    expect(feed.socket.protocol).toBe('systemge.dashboard.v1');
    await feed.next((m) => m.type === 'nodes');
    const viaHeader = await openFeed(dashboard, { headers: { authorization: `Bearer ${TOKEN}` } });
    await viaHeader.next((m) => m.type === 'nodes');
  });

  it('refuses a WebSocket upgrade from a foreign origin and accepts its own or an allowed one', async () => {
    const dashboard = await startDashboard({ token: TOKEN });
    await expect(openFeed(dashboard, { token: TOKEN, origin: 'http://evil.example' })).rejects.toMatchObject({ statusCode: 403 });
    const own = await openFeed(dashboard, { token: TOKEN, origin: dashboard.url! });
    await own.next((m) => m.type === 'nodes');

    const listed = await startDashboard({ token: TOKEN, allowedOrigins: ['https://ops.example.com'] });
    await expect(openFeed(listed, { token: TOKEN, origin: listed.url! })).rejects.toMatchObject({ statusCode: 403 });
    const allowed = await openFeed(listed, { token: TOKEN, origin: 'https://ops.example.com' });
    await allowed.next((m) => m.type === 'nodes');
  });

  it('without a token, answers only loopback host names and same-origin browsers', async () => {
    const dashboard = await startDashboard({}, false);
    const node = await startNode({ name: 'target' });
    dashboard.addNode(node);
    // A page whose own domain resolves to 127.0.0.1 carries its Host header.
    const rebound = await dashboard.inject({ url: '/api/nodes', headers: { host: 'evil.example:1234' } });
    expect(rebound.statusCode).toBe(403);
    expect(JSON.parse(rebound.body)).toMatchObject({ code: 'SYSTEMGE_ERR_DASHBOARD_FORBIDDEN' });
    // A cross-site form or fetch cannot stop nodes.
    const csrf = await dashboard.inject({ method: 'POST', url: '/api/nodes/target/stop', headers: { origin: 'http://evil.example' } });
    expect(csrf.statusCode).toBe(403);
    expect(node.status).toBe('started');
    const sameOrigin = await dashboard.inject({
      method: 'POST',
      url: '/api/nodes/target/command',
      headers: { origin: 'http://localhost' },
      payload: { command: 'commands' },
    });
    expect(sameOrigin.statusCode).toBe(200);
  });

  it('audits operations with node, command and caller, and never logs the token', async () => {
    const { records, logger } = recordingLogger();
    const dashboard = await startDashboard({ token: TOKEN, logger, systemge: { transport: tcpTransport() } });
    dashboard.addNode(await startNode({ name: 'audited' }));
    const response = await request(`${dashboard.url}/api/nodes/audited/stop`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(response.statusCode).toBe(200);
    await response.body.dump();
    const audit = records.find((r) => r.level === 'info' && r.msg === 'dashboard command');
    expect(audit?.obj).toMatchObject({ node: 'audited', command: 'stop', via: 'http', remote: '127.0.0.1' });
    await (await request(`${dashboard.url}/api/nodes`, { headers: { authorization: `Bearer ${TOKEN}x` } })).body.dump();
    expect(JSON.stringify(records)).not.toContain(TOKEN);
  });

  it('does not list a remote node whose link presents a wrong token; the link gives up at once', async () => {
    const dashboard = await startDashboard({ token: TOKEN, systemge: { transport: tcpTransport() } });
    const child = forkRemoteNodes({ dashboardPort: dashboard.systemgeAddress!.port, token: 'wrong-token', prefix: 'intruder-' });
    await expect(child).rejects.toMatchObject({ code: 'SYSTEMGE_ERR_AUTH_FAILED' });
    expect(dashboard.nodes()).toEqual([]);
  });
});
