import { connect } from 'node:net';
import { Agent, request } from 'undici';
import { describe, expect, it } from 'vitest';
import { httpComponent, type HTTPComponentApplication } from '../src/index.js';
import { onTeardown, startNode } from './helpers.js';

function agent(): Agent {
  const a = new Agent();
  onTeardown(() => a.close());
  return a;
}

const echo: HTTPComponentApplication = {
  getHttpMessageHandlers: () => ({
    'POST /echo': (request) => ({ size: JSON.stringify(request.body).length }),
    'GET /ping': () => 'pong',
  }),
};

describe('HTTP limits over real sockets', () => {
  it('answers 413 to a body over bodyLimit and keeps serving', async () => {
    const http = httpComponent({ bodyLimit: 1024 });
    await startNode({ name: 'web' }, echo, [http]);
    const dispatcher = agent();
    const small = await request(`${http.url}/echo`, {
      dispatcher,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'x'.repeat(500) }),
    });
    expect(small.statusCode).toBe(200);
    expect(await small.body.json()).toEqual({ size: 511 });
    const big = await request(`${http.url}/echo`, {
      dispatcher,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'x'.repeat(5000) }),
    });
    expect(big.statusCode).toBe(413);
    expect(await big.body.json()).toMatchObject({ code: 'FST_ERR_CTP_BODY_TOO_LARGE' });
    const after = await request(`${http.url}/ping`, { dispatcher });
    expect(await after.body.text()).toBe('pong');
  });

  it('refuses a denied address with 403 JSON, and lets it in once the deny entry is removed', async () => {
    const http = httpComponent({ deny: ['127.0.0.0/8'] });
    await startNode({ name: 'web' }, echo, [http]);
    const dispatcher = agent();
    const refused = await request(`${http.url}/ping`, { dispatcher });
    expect(refused.statusCode).toBe(403);
    expect(await refused.body.json()).toEqual({ statusCode: 403, error: 'Forbidden', message: 'address 127.0.0.1 is denied' });
    expect(http.getStats()).toMatchObject({ rejected_address_total: 1, responses_4xx_total: 1 });

    expect(http.denyList.remove('127.0.0.0/8')).toBe(true);
    const allowed = await request(`${http.url}/ping`, { dispatcher });
    expect([allowed.statusCode, await allowed.body.text()]).toEqual([200, 'pong']);
  });

  it('refuses an address missing from the allow list, and admits it when added at runtime', async () => {
    const http = httpComponent({ allow: ['10.0.0.0/8', 'fd00::/8', '192.168.1.7'] });
    await startNode({ name: 'web' }, echo, [http]);
    const dispatcher = agent();
    const refused = await request(`${http.url}/ping`, { dispatcher });
    expect(refused.statusCode).toBe(403);
    expect((await refused.body.json()) as object).toMatchObject({ message: 'address 127.0.0.1 is not allowed' });

    http.allowList.add('127.0.0.1');
    const allowed = await request(`${http.url}/ping`, { dispatcher });
    expect(allowed.statusCode).toBe(200);
    await allowed.body.dump();

    http.denyList.add('127.0.0.1/32');
    const deniedWins = await request(`${http.url}/ping`, { dispatcher });
    expect(deniedWins.statusCode).toBe(403);
    await deniedWins.body.dump();
  });

  it('closes a connection that sends headers slower than headersTimeoutMs', async () => {
    const http = httpComponent({ headersTimeoutMs: 200 });
    await startNode({ name: 'web' }, echo, [http]);
    const address = http.address;
    if (address === undefined) throw new Error('not listening');
    const socket = connect(address.port, address.host);
    onTeardown(() => socket.destroy());
    socket.write('GET /ping HTTP/1.1\r\nHost: x\r\n');
    let received = '';
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('slow-header connection not closed within 5 s')), 5000);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    expect(received).toMatch(/^HTTP\/1\.1 408/);
  });
});

describe('IP access lists', () => {
  it('matches IPv4, IPv6 and IPv4-mapped addresses against exact entries and CIDR blocks', () => {
    const { allowList } = httpComponent({ allow: ['10.1.0.0/16', '2001:db8::/32', '::1', '192.168.0.9'] });
    expect(allowList.matches('10.1.200.3')).toBe(true);
    expect(allowList.matches('10.2.0.1')).toBe(false);
    expect(allowList.matches('::ffff:10.1.2.3')).toBe(true);
    expect(allowList.matches('2001:db8:ffff::1')).toBe(true);
    expect(allowList.matches('2001:db9::1')).toBe(false);
    expect(allowList.matches('::1')).toBe(true);
    expect(allowList.matches('192.168.0.9')).toBe(true);
    expect(allowList.matches('192.168.0.10')).toBe(false);
    expect(allowList.matches('not an ip')).toBe(false);
    expect(allowList.entries()).toEqual(['10.1.0.0/16', '2001:db8::/32', '::1', '192.168.0.9']);
    expect(allowList.remove('10.1.0.0/16')).toBe(true);
    expect(allowList.matches('10.1.200.3')).toBe(false);
    expect(() => allowList.add('10.0.0.0/40')).toThrow(expect.objectContaining({ code: 'SYSTEMGE_ERR_HTTP_CONFIG', option: 'allow' }));
    expect(() => allowList.set(['1.2.3.4', 'bogus'])).toThrow(expect.objectContaining({ code: 'SYSTEMGE_ERR_HTTP_CONFIG' }));
    expect(allowList.size).toBe(3);
  });
});
