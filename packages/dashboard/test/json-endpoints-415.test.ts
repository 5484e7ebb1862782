import { describe, expect, it } from 'vitest';
import { startDashboard, startNode } from './helpers.js';

/** Every POST endpoint of the API; only `command` reads its body, the others must refuse a non-JSON one alike. */
const POST_ENDPOINTS = [
  '/api/nodes/alpha/command',
  '/api/nodes/alpha/start',
  '/api/nodes/alpha/stop',
  '/api/nodes/alpha/restart',
  '/api/nodes/start',
  '/api/nodes/stop',
];

describe('JSON endpoints and media types', () => {
  it('answer 415 SYSTEMGE_ERR_DASHBOARD_BAD_REQUEST to a body that is not application/json, over a real socket', async () => {
    const dashboard = await startDashboard();
    const node = await startNode({ name: 'alpha' }, { getCommandHandlers: () => ({ echo: (args: string[]) => args.join(' ') }) });
    dashboard.addNode(node);
    const body = JSON.stringify({ command: 'echo', args: ['x'] });
    for (const url of POST_ENDPOINTS) {
      for (const type of [
        'text/plain',
        'text/plain; charset=utf-8',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/xml',
      ]) {
        const response = await fetch(`${dashboard.url}${url}`, { method: 'POST', headers: { 'content-type': type }, body });
        expect(response.status, `${url} ${type}`).toBe(415);
        expect(await response.json()).toMatchObject({ code: 'SYSTEMGE_ERR_DASHBOARD_BAD_REQUEST' });
      }
    }
    // The node was neither stopped nor commanded by any of them.
    expect(node.status).toBe('started');
  });

  it('still run with application/json (any charset) and without a body where none is read', async () => {
    const dashboard = await startDashboard();
    const node = await startNode({ name: 'alpha' }, { getCommandHandlers: () => ({ echo: (args: string[]) => args.join(' ') }) });
    dashboard.addNode(node);
    for (const type of ['application/json', 'application/json; charset=utf-8']) {
      const response = await fetch(`${dashboard.url}/api/nodes/alpha/command`, {
        method: 'POST',
        headers: { 'content-type': type },
        body: JSON.stringify({ command: 'echo', args: ['hi'] }),
      });
      expect([response.status, await response.json()]).toEqual([200, { result: 'hi' }]);
    }
    const noBody = await fetch(`${dashboard.url}/api/nodes/alpha/restart`, { method: 'POST' });
    expect(noBody.status).toBe(200);
    const noType = await fetch(`${dashboard.url}/api/nodes/alpha/command`, { method: 'POST' });
    expect(noType.status).toBe(400);
    expect(await noType.json()).toMatchObject({ code: 'SYSTEMGE_ERR_DASHBOARD_BAD_REQUEST' });
  });
});
