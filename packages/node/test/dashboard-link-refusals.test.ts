import { tcpTransport } from '@systemge/transport-tcp';
import { describe, expect, it } from 'vitest';
import { connectDashboard, DASHBOARD_DESCRIBE_TOPIC, isLoopbackHost, type Logger } from '../src/index.js';
import { endpointOf, startNode } from './helpers.js';

function capturingLogger(lines: { level: string; text: string }[]): Logger {
  const at =
    (level: string) =>
    (obj: object | string, msg?: string): void => {
      lines.push({ level, text: typeof obj === 'string' ? obj : `${JSON.stringify(obj)} ${msg ?? ''}` });
    };
  const logger: Logger = { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => logger };
  return logger;
}

/** Settles with the outcome of `promise`, or with 'pending' after `ms`. */
async function settledWithin<T>(promise: Promise<T>, ms: number): Promise<{ ok: true; value: T } | { ok: false; error: unknown } | 'pending'> {
  let timer: NodeJS.Timeout | undefined;
  const pending = new Promise<'pending'>((resolve) => (timer = setTimeout(() => resolve('pending'), ms)));
  try {
    return await Promise.race([promise.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error })), pending]);
  } finally {
    clearTimeout(timer);
  }
}

describe('dashboard link refusals', () => {
  it('treats a wrong token as final: ready() rejects with SYSTEMGE_ERR_AUTH_FAILED, logged at error, no retries', async () => {
    const secret = 'the-dashboard-token';
    const dashboard = await startNode({ name: 'dashboard', auth: { token: secret } });
    const node = await startNode({ name: 'worker', listen: false });
    const lines: { level: string; text: string }[] = [];
    let handshakes = 0;
    const link = await connectDashboard(node, {
      ...endpointOf(dashboard),
      transport: tcpTransport(),
      token: 'wrong-token',
      initialDelayMs: 10,
      maxDelayMs: 20,
      logger: capturingLogger(lines),
    });
    try {
      const outcome = await settledWithin(link.ready(), 10_000);
      expect(outcome).not.toBe('pending');
      expect(outcome).toMatchObject({ ok: false, error: { code: 'SYSTEMGE_ERR_AUTH_FAILED' } });
      handshakes = dashboard.stats.handshakeFailures;
      expect(handshakes).toBe(1);
      const errors = lines.filter((l) => l.level === 'error');
      expect(errors.map((l) => l.text).join('\n')).toMatch(/dashboard refused the link token/);
      expect(lines.map((l) => l.text).join('\n')).not.toContain('wrong-token');
      expect(link.connected).toBe(false);
      // An observation window, not a wait for an event: with a 10-20 ms backoff a retrying link
      // would have made many more attempts in it.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(dashboard.stats.handshakeFailures).toBe(handshakes);
    } finally {
      await link.close();
    }
  });

  it('still connects with the right token, and a missing token is refused as final too', async () => {
    const dashboard = await startNode({ name: 'dashboard', auth: { token: 'right' } });
    const node = await startNode({ name: 'worker', listen: false });
    const good = await connectDashboard(node, { ...endpointOf(dashboard), transport: tcpTransport(), token: 'right' });
    await good.ready();
    expect(dashboard.peers().find((p) => p.name === 'worker')?.syncTopics).toContain(DASHBOARD_DESCRIBE_TOPIC);
    await good.close();
    const other = await startNode({ name: 'other', listen: false });
    const missing = await connectDashboard(other, { ...endpointOf(dashboard), transport: tcpTransport(), initialDelayMs: 10 });
    await expect(missing.ready()).rejects.toMatchObject({ code: 'SYSTEMGE_ERR_AUTH_FAILED' });
    await missing.close();
  });

  it('refuses to send a token over plain TCP to a non-loopback host unless allowInsecure is set', async () => {
    const node = await startNode({ name: 'worker', listen: false });
    await expect(
      connectDashboard(node, { host: '192.0.2.10', port: 7071, transport: tcpTransport(), token: 'secret' }),
    ).rejects.toMatchObject({
      code: 'SYSTEMGE_ERR_INSECURE_LINK',
      host: '192.0.2.10',
      transport: 'tcp',
      message: expect.stringMatching(/192\.0\.2\.10:7071 .*"tcp".*allowInsecure: true/),
    });
    await expect(
      connectDashboard(node, { host: 'dashboard.example', port: 7071, transport: tcpTransport(), token: 'secret' }),
    ).rejects.toMatchObject({ code: 'SYSTEMGE_ERR_INSECURE_LINK' });
    // No token, nothing to leak: allowed (the dial itself may fail; the link is closed at once).
    const tokenless = await connectDashboard(node, { host: '192.0.2.10', port: 7071, transport: tcpTransport() });
    await tokenless.close();
    const allowed = await connectDashboard(node, { host: '192.0.2.10', port: 7071, transport: tcpTransport(), token: 'secret', allowInsecure: true });
    await allowed.close();
  });

  it('lets a token travel in clear over loopback: the whole of 127.0.0.0/8, ::1 and localhost', async () => {
    for (const host of ['127.0.0.1', '127.0.0.2', '127.255.255.254', '::1', '[::1]', 'localhost', 'LOCALHOST', '::ffff:127.0.0.1']) {
      expect(isLoopbackHost(host), host).toBe(true);
    }
    for (const host of ['0.0.0.0', '10.0.0.1', '128.0.0.1', '::', 'localhost.example.com', '127.0.0.1.example.com', 'example.com']) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
    // A real link over 127.0.0.2 with a token: not refused, registers.
    const dashboard = await startNode({ name: 'dashboard', auth: { token: 'tok' }, listen: { host: '0.0.0.0', port: 0 } });
    const node = await startNode({ name: 'worker', listen: false });
    const link = await connectDashboard(node, { host: '127.0.0.2', port: dashboard.address!.port, transport: tcpTransport(), token: 'tok' });
    try {
      await link.ready();
      expect(link.connected).toBe(true);
    } finally {
      await link.close();
    }
  });
});
