import { describe, expect, it } from 'vitest';
import { endpointOf, startNode, until } from './helpers.js';

/*
 * The first frame of a connection is capped (limits.maxHandshakeFrameBytes), so a node whose
 * topic list does not fit in its handshake or handshake answer announces the rest in topic
 * frames right after it. Both sides must end up knowing every topic.
 */

function topics(prefix: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}/${'x'.repeat(30)}/${i}`);
}

describe('nodes with more topics than fit in a handshake', () => {
  for (const cap of [16 * 1024, 64 * 1024]) {
    it(`connect and learn every topic (maxHandshakeFrameBytes ${cap})`, async () => {
      const serverAsync = topics('sa', 2500);
      const serverSync = topics('ss', 500);
      const clientAsync = topics('ca', 2500);
      const clientSync = topics('cs', 500);
      const asyncHandlers = (names: string[]): Record<string, () => void> => Object.fromEntries(names.map((n) => [n, () => {}]));
      const syncHandlers = (names: string[], value: string): Record<string, () => string> =>
        Object.fromEntries(names.map((n) => [n, () => value]));
      const server = await startNode(
        { name: 'server', limits: { maxHandshakeFrameBytes: cap } },
        {
          getAsyncMessageHandlers: () => asyncHandlers(serverAsync),
          getSyncMessageHandlers: () => syncHandlers(serverSync, 'from-server'),
        },
      );
      const client = await startNode(
        { name: 'client', listen: false, limits: { maxHandshakeFrameBytes: cap } },
        {
          getAsyncMessageHandlers: () => asyncHandlers(clientAsync),
          getSyncMessageHandlers: () => syncHandlers(clientSync, 'from-client'),
        },
      );
      await client.connect(endpointOf(server));
      const onClient = () => client.peers().find((p) => p.name === 'server');
      const onServer = () => server.peers().find((p) => p.name === 'client');
      await until(
        () => onClient()?.asyncTopics.length === 2500 && onClient()?.syncTopics.length === 500,
        10_000,
        'server topics on the client',
      );
      await until(
        () => onServer()?.asyncTopics.length === 2500 && onServer()?.syncTopics.length === 500,
        10_000,
        'client topics on the server',
      );
      expect(onClient()?.syncTopics).toEqual([...serverSync].sort());
      expect(onServer()?.asyncTopics).toEqual([...clientAsync].sort());
      expect(await client.syncRequest(serverSync[499] as string, '').first()).toBe('from-server');
      expect(await server.syncRequest(clientSync[499] as string, '').first()).toBe('from-client');
    });
  }
});
