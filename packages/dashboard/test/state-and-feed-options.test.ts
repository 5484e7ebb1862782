import { describe, expect, it } from 'vitest';
import { createDashboard } from '../src/index.js';

describe('dashboard state and live feed options', () => {
  it('refuses a second start() with SYSTEMGE_ERR_DASHBOARD_STATE, not an option error', async () => {
    const dashboard = createDashboard();
    await dashboard.start();
    try {
      await expect(dashboard.start()).rejects.toMatchObject({
        code: 'SYSTEMGE_ERR_DASHBOARD_STATE',
        message: 'start() is called once on a new dashboard (this one is started)',
      });
      const health = await dashboard.inject('/api/health');
      expect(health.json()).toMatchObject({ status: 'ok', feedClients: 0, feedSlowDisconnects: 0 });
    } finally {
      await dashboard.stop();
    }
    await expect(dashboard.start()).rejects.toMatchObject({ code: 'SYSTEMGE_ERR_DASHBOARD_STATE' });
  });

  it('checks liveFeed limits, naming the field', () => {
    const bad: [object, string][] = [
      [{ maxBufferedBytes: 0 }, 'liveFeed.maxBufferedBytes'],
      [{ slowClientTimeoutMs: 1.5 }, 'liveFeed.slowClientTimeoutMs'],
      [{ slowClientTimeoutMs: 2 ** 31 }, 'liveFeed.slowClientTimeoutMs'],
      [{ maxBufferedBytes: 2048, hardMaxBufferedBytes: 1024 }, 'liveFeed.hardMaxBufferedBytes'],
    ];
    for (const [liveFeed, option] of bad) {
      expect(() => createDashboard({ liveFeed })).toThrow(
        expect.objectContaining({ code: 'SYSTEMGE_ERR_DASHBOARD_INVALID_OPTION', option }),
      );
    }
    expect(() => createDashboard({ liveFeed: { maxBufferedBytes: 128 * 1024 * 1024 } })).not.toThrow();
  });
});
