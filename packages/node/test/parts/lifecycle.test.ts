import { describe, expect, it } from 'vitest';
import { Lifecycle, type LifecycleSteps } from '../../src/host/lifecycle.js';
import type { NodeStatus } from '../../src/node-types.js';
import { testContext } from './fakes.js';

/** Steps that record their order; `dialAll` waits until released (or fails). */
function recordingSteps() {
  const calls: string[] = [];
  let releaseDials: ((error?: Error) => void) | undefined;
  const step = (name: string) => () => void calls.push(name);
  const steps: LifecycleSteps = {
    onConnection: step('onConnection'),
    onRefused: step('onRefused'),
    accept: () => undefined,
    dialAll: () => {
      calls.push('dialAll');
      return new Promise<void>((resolve, reject) => {
        releaseDials = (error) => (error === undefined ? resolve() : reject(error));
      });
    },
    cancelDials: () => {
      calls.push('cancelDials');
      releaseDials?.(new Error('cancelled'));
    },
    shutdownDials: step('shutdownDials'),
    startLiveness: step('startLiveness'),
    stopLiveness: step('stopLiveness'),
    startPlugins: async () => void calls.push('startPlugins'),
    stopPlugins: async () => void calls.push('stopPlugins'),
    appStart: step('appStart'),
    appStop: step('appStop'),
    connections: () => [],
    handlersIdle: async () => {
      calls.push('handlersIdle');
      return true;
    },
    failRequests: step('failRequests'),
    forgetReplacements: step('forgetReplacements'),
    releaseDrainWaiters: step('releaseDrainWaiters'),
  };
  return { calls, steps, release: (error?: Error) => releaseDials?.(error) };
}

function setup() {
  const r = testContext({ shutdownTimeoutMs: 1000 });
  const s = recordingSteps();
  const statuses: NodeStatus[] = [];
  const lifecycle = new Lifecycle(r.ctx, s.steps, (status) => void statuses.push(status));
  return { ...r, ...s, statuses, lifecycle };
}

describe('Lifecycle', () => {
  it('starts in order and tears down in reverse order', async () => {
    const s = setup();
    const started = s.lifecycle.start();
    await Promise.resolve();
    s.release();
    await started;
    expect(s.lifecycle.status).toBe('started');
    await s.clock.advance(1500);
    expect(s.lifecycle.uptimeMs).toBe(1500);
    await s.lifecycle.stop();
    expect(s.calls).toEqual([
      'dialAll',
      'startLiveness',
      'startPlugins',
      'appStart',
      'appStop',
      'stopLiveness',
      'stopPlugins',
      'shutdownDials',
      'handlersIdle',
      'failRequests',
      'forgetReplacements',
      'releaseDrainWaiters',
    ]);
    expect(s.statuses).toEqual(['starting', 'started', 'stopping', 'stopped']);
    expect(s.lifecycle.uptimeMs).toBe(0);
  });

  it('a stop during start cancels the dials, and start rejects after tearing down', async () => {
    const s = setup();
    const started = s.lifecycle.start();
    const outcome = started.catch((error: unknown) => error);
    await Promise.resolve();
    await s.lifecycle.stop();
    expect(await outcome).toMatchObject({ message: 'cancelled' });
    expect(s.lifecycle.status).toBe('stopped');
    expect(s.calls).toEqual([
      'dialAll',
      'cancelDials',
      'stopLiveness',
      'stopPlugins',
      'shutdownDials',
      'failRequests',
      'forgetReplacements',
      'releaseDrainWaiters',
    ]);
    expect(s.statuses).toEqual(['starting', 'stopped']);
  });

  it('refuses a second start with a status error', async () => {
    const s = setup();
    void s.lifecycle.start();
    await expect(s.lifecycle.start()).rejects.toMatchObject({ code: 'SYSTEMGE_ERR_NODE_STATUS' });
    s.release();
  });
});
