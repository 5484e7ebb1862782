import { describe, expect, it } from 'vitest';
import { websocketComponent } from '../src/index.js';
import { startNode } from './helpers.js';

describe('starting a started WebSocket component', () => {
  it('throws SYSTEMGE_ERR_WS_STATE, not a config error, and keeps serving', async () => {
    const ws = websocketComponent();
    const node = await startNode({ name: 'ws-node' }, {}, [ws]);
    const url = ws.url;
    const again = ws.start({ node, application: {}, logger: { debug() {}, info() {}, warn() {}, error() {} } as never });
    await expect(again).rejects.toMatchObject({
      code: 'SYSTEMGE_ERR_WS_STATE',
      message: 'WebSocket component "websocket" is already started',
    });
    expect(ws.url).toBe(url);
  });
});
