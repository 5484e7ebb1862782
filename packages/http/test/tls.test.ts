import { generateTestPKI } from '@systemge/transport-compliance/pki';
import { Agent, request } from 'undici';
import { describe, expect, it } from 'vitest';
import { httpComponent } from '../src/index.js';
import { onTeardown, startNode } from './helpers.js';

describe('HTTPS', () => {
  it('serves routes over TLS with a certificate the client trusts, and fails an untrusting client', async () => {
    const pki = await generateTestPKI();
    onTeardown(() => pki.remove());
    const http = httpComponent({ https: { cert: pki.server.cert, key: pki.server.key } });
    await startNode({ name: 'secure' }, { getHttpMessageHandlers: () => ({ 'GET /secret': () => ({ ok: true }) }) }, [http]);
    expect(http.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);

    const trusting = new Agent({ connect: { ca: pki.ca.cert } });
    onTeardown(() => trusting.close());
    const response = await request(`${http.url}/secret`, { dispatcher: trusting });
    expect(response.statusCode).toBe(200);
    expect(await response.body.json()).toEqual({ ok: true });

    const untrusting = new Agent();
    onTeardown(() => untrusting.close());
    await expect(request(`${http.url}/secret`, { dispatcher: untrusting })).rejects.toMatchObject({
      code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    });
  });

  it('refuses https without a key', () => {
    expect(() => httpComponent({ https: { cert: 'x' } as never })).toThrow(
      expect.objectContaining({ code: 'SYSTEMGE_ERR_HTTP_CONFIG', option: 'https' }),
    );
  });
});
