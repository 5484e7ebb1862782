import { describe, expect, it } from 'vitest';
import { openFeed, startDashboard, startNode } from './helpers.js';

/** Names that an object lookup would find on `Object.prototype`. */
const PROTOTYPE_NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'];

/** Words that would show an error describing a built-in member instead of the unknown name. */
const INTERNALS = /function|native code|\[object|is not a|Cannot (read|convert)/;

describe('names that exist on Object.prototype', () => {
  it('are unknown nodes and unknown commands over HTTP, and nothing about the server shows', async () => {
    const dashboard = await startDashboard();
    dashboard.addNode(await startNode({ name: 'alpha' }, { getCommandHandlers: () => ({ echo: (args: string[]) => args.join(' ') }) }));
    for (const name of PROTOTYPE_NAMES) {
      const encoded = encodeURIComponent(name);
      for (const [method, url, body] of [
        ['GET', `/api/nodes/${encoded}`, undefined],
        ['POST', `/api/nodes/${encoded}/stop`, undefined],
        ['POST', `/api/nodes/${encoded}/command`, JSON.stringify({ command: 'status' })],
      ] as const) {
        const response = await fetch(`${dashboard.url}${url}`, {
          method,
          ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/json' } }),
        });
        const text = await response.text();
        expect(response.status, `${method} ${url}`).toBe(404);
        expect(JSON.parse(text)).toMatchObject({ code: 'SYSTEMGE_ERR_DASHBOARD_UNKNOWN_NODE' });
        expect(text).toContain(JSON.stringify(name).slice(1, -1));
        expect(text).not.toMatch(INTERNALS);
      }
      const command = await fetch(`${dashboard.url}/api/nodes/alpha/command`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ command: name }),
      });
      const text = await command.text();
      expect(command.status, `command ${name}`).toBe(404);
      expect(JSON.parse(text)).toMatchObject({
        code: 'SYSTEMGE_ERR_UNKNOWN_COMMAND',
        commands: expect.arrayContaining(['echo', 'status']),
      });
      expect(text).not.toMatch(INTERNALS);
    }
  });

  it('are unknown nodes and commands on the live feed', async () => {
    const dashboard = await startDashboard();
    dashboard.addNode(await startNode({ name: 'alpha' }));
    const feed = await openFeed(dashboard);
    for (const [i, name] of PROTOTYPE_NAMES.entries()) {
      feed.send({ type: 'command', name, command: 'status', id: `node-${i}` });
      const unknownNode = await feed.next((m) => m.type === 'error' && m['id'] === `node-${i}`);
      expect(unknownNode).toMatchObject({ code: 'SYSTEMGE_ERR_DASHBOARD_UNKNOWN_NODE' });
      feed.send({ type: 'command', name: 'alpha', command: name, id: `command-${i}` });
      const unknownCommand = await feed.next((m) => m.type === 'command' && m['id'] === `command-${i}`);
      expect(unknownCommand).toMatchObject({ name: 'alpha', command: name, code: 'SYSTEMGE_ERR_UNKNOWN_COMMAND' });
      expect(JSON.stringify([unknownNode, unknownCommand])).not.toMatch(INTERNALS);
      feed.send({ type: name, id: `type-${i}` });
      expect(await feed.next((m) => m.type === 'error' && m['id'] === `type-${i}`)).toMatchObject({
        code: 'SYSTEMGE_ERR_DASHBOARD_BAD_REQUEST',
      });
    }
  });

  it('work as node names: shown, described and in the results of a command to all', async () => {
    const dashboard = await startDashboard();
    for (const name of PROTOTYPE_NAMES) dashboard.addNode(await startNode({ name, listen: false }));
    expect(dashboard.nodes().map((n) => n.name)).toEqual(PROTOTYPE_NAMES);
    for (const name of PROTOTYPE_NAMES) {
      const response = await fetch(`${dashboard.url}/api/nodes/${encodeURIComponent(name)}`);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ name, kind: 'local' });
    }
    const response = await fetch(`${dashboard.url}/api/nodes/stop`, { method: 'POST' });
    const { results } = (await response.json()) as { results: Record<string, unknown> };
    expect(Object.keys(results).sort()).toEqual([...PROTOTYPE_NAMES].sort());
    for (const name of PROTOTYPE_NAMES)
      expect(Object.getOwnPropertyDescriptor(results, name)?.value).toMatchObject({ result: expect.any(String) });
  });
});
