import { describe, expect, it } from 'vitest';
import type { CommandComponent } from '../src/index.js';
import { endpointOf, startNode, until } from './helpers.js';

class Counter implements CommandComponent {
  count = 0;
  getCommandHandlers() {
    return {
      increment: (args: string[]) => String((this.count += Number(args[0] ?? 1))),
      later: async (args: string[]) => `later:${args.join(',')}`,
      broken: () => {
        throw new Error('the counter is broken');
      },
      brokenLater: async () => {
        throw new Error('broken later');
      },
    };
  }
}

describe('node commands', () => {
  it('returns status, connections, topics and stats as data, not JSON text', async () => {
    const server = await startNode({ name: 'server' }, { getSyncMessageHandlers: () => ({ ping: () => 'pong' }) });
    const client = await startNode(
      { name: 'client', endpoints: [endpointOf(server)] },
      {
        getAsyncMessageHandlers: () => ({ news: () => {} }),
      },
    );
    await client.syncRequest('ping', '').first();

    const status = (await client.command('status')) as Record<string, unknown>;
    expect(typeof status).toBe('object');
    expect(status).toMatchObject({ name: 'client', status: 'started', handling: 'concurrent', peers: 1, transport: 'tcp' });
    expect(status.address).toEqual(client.address);

    const connections = await client.command('connections');
    expect(connections).toEqual([
      expect.objectContaining({ name: 'server', direction: 'out', transport: 'tcp', remote: `127.0.0.1:${server.address!.port}` }),
    ]);
    expect(((await server.command('connections')) as unknown[])[0]).toMatchObject({ name: 'client', direction: 'in' });

    expect(await client.command('topics')).toEqual({
      handled: { asyncTopics: ['news'], syncTopics: [] },
      peers: { server: { asyncTopics: [], syncTopics: ['ping'] } },
    });

    const stats = await client.command('stats');
    expect(stats).toMatchObject({ syncRequestsSent: 1, syncResponsesReceived: 1, connectionsOut: 1 });
  });

  it('lists built-in and application commands, and runs the application ones with their args', async () => {
    const app = new Counter();
    const node = await startNode({ name: 'n' }, app);
    const names = (await node.command('commands')) as string[];
    for (const name of ['status', 'connections', 'topics', 'stats', 'commands', 'start', 'stop', 'restart', 'connect', 'disconnect']) {
      expect(names).toContain(name);
    }
    expect(names).toEqual(expect.arrayContaining(['increment', 'later', 'broken']));
    expect(names).toEqual(node.commandNames());
    expect(await node.command('increment')).toBe('1');
    expect(await node.command('increment', ['41'])).toBe('42');
    expect(await node.command('later', ['a', 'b'])).toBe('later:a,b');
  });

  it('rejects an unknown command with SYSTEMGE_ERR_UNKNOWN_COMMAND listing the available ones', async () => {
    const node = await startNode({ name: 'n' }, new Counter());
    const error = await node.command('incremnet').catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'SYSTEMGE_ERR_UNKNOWN_COMMAND',
      command: 'incremnet',
      available: node.commandNames(),
    });
    expect((error as Error).message).toMatch(/unknown command "incremnet"; available: .*increment/);
  });

  it('rejects with the message of a throwing command', async () => {
    const node = await startNode({ name: 'n' }, new Counter());
    await expect(node.command('broken')).rejects.toThrow('the counter is broken');
    await expect(node.command('brokenLater')).rejects.toThrow('broken later');
    await expect(node.command('connect', ['no-port'])).rejects.toThrow('usage: connect <host:port>');
    await expect(node.command('disconnect')).rejects.toThrow('usage: disconnect <peer-name>');
    await expect(node.command('disconnect', ['ghost'])).rejects.toMatchObject({ code: 'SYSTEMGE_ERR_PEER_NOT_CONNECTED' });
  });

  it('connects and disconnects peers by command', async () => {
    const server = await startNode({ name: 'server' });
    const client = await startNode({ name: 'client' });
    expect(await client.command('connect', [`127.0.0.1:${server.address!.port}`])).toBe('connected to server');
    expect(client.peers().map((p) => p.name)).toEqual(['server']);
    await until(() => server.peers().length === 1, 5000, 'server sees client');
    expect(await client.command('disconnect', ['server'])).toBe('disconnected from server');
    expect(client.peers()).toEqual([]);
    await until(() => server.peers().length === 0, 5000, 'server sees the disconnect');
    // Not redialed: the connection was closed on purpose.
    expect(client.stats.connectionAttempts).toBe(1);
  });

  it('stops, starts and restarts the node', async () => {
    const node = await startNode({ name: 'n' });
    const statuses: string[] = [];
    node.on('status', (s) => statuses.push(s));
    expect(await node.command('stop')).toBe('node n stopped');
    expect(node.status).toBe('stopped');
    expect(await node.command('start')).toBe('node n started');
    expect(node.status).toBe('started');
    expect(await node.command('restart')).toBe('node n restarted');
    expect(node.status).toBe('started');
    expect(statuses).toEqual(['stopping', 'stopped', 'starting', 'started', 'stopping', 'stopped', 'starting', 'started']);
    await expect(node.command('start')).rejects.toMatchObject({ code: 'SYSTEMGE_ERR_NODE_STATUS' });
  });
});
