import { describe, expect, it } from 'vitest';
import {
  CommandNotPermittedError,
  decodeCommandResult,
  parseCommandFailure,
  REMOTE_COMMAND_TOPIC,
  remoteCommands,
  RemoteCommandsUnauthenticatedError,
  type SystemgeNode,
} from '../src/index.js';
import { endpointOf, startNode } from './helpers.js';

async function ask(client: SystemgeNode, command: string, args: string[] = []) {
  const [response] = await client.syncRequest(REMOTE_COMMAND_TOPIC, JSON.stringify({ command, args }), { timeoutMs: 5000 }).all();
  if (response === undefined) throw new Error('no response');
  if (response.ok) return { ok: true as const, result: decodeCommandResult(String(response.payload)) };
  return { ok: false as const, failure: parseCommandFailure(response.error) };
}

describe('remote commands', () => {
  it('runs a command for a peer that passed the token handshake and answers with data', async () => {
    const server = await startNode(
      { name: 'server', auth: { token: 'node-secret' } },
      { getCommandHandlers: () => ({ hello: (args) => `hello ${args.join(' ')}` }) },
      { plugins: [remoteCommands()] },
    );
    const operator = await startNode({ name: 'operator', listen: false, auth: { token: 'node-secret' }, endpoints: [endpointOf(server)] });
    const stats = await ask(operator, 'stats');
    expect(stats.ok).toBe(true);
    expect(stats).toMatchObject({ result: { connectionsIn: 1 } });
    expect(await ask(operator, 'hello', ['a', 'b'])).toEqual({ ok: true, result: 'hello a b' });
    const unknown = await ask(operator, 'nope');
    expect(unknown.ok).toBe(false);
    expect(unknown).toMatchObject({ failure: { code: 'SYSTEMGE_ERR_UNKNOWN_COMMAND', available: server.commandNames() } });
    expect(await server.command('status')).toMatchObject({ plugins: { 'remote-commands': { topic: REMOTE_COMMAND_TOPIC } } });
  });

  it('runs nothing for peers on a node without the plugin', async () => {
    const server = await startNode({ name: 'server' });
    const client = await startNode({ name: 'client', listen: false, endpoints: [endpointOf(server)] });
    expect(client.peers()).toHaveLength(1);
    await expect(client.syncRequest(REMOTE_COMMAND_TOPIC, JSON.stringify({ command: 'stop', args: [] })).all()).rejects.toMatchObject({
      code: 'SYSTEMGE_ERR_NO_ROUTE',
    });
    expect(server.status).toBe('started');
  });

  it('refuses peers and commands outside `peers` and `commands`', async () => {
    const server = await startNode(
      { name: 'server', auth: { token: 'app-token', peerTokens: { operator: 'operator-token' } } },
      {},
      { plugins: [remoteCommands({ peers: ['operator'], commands: ['stats', 'status'] })] },
    );
    const app = await startNode({ name: 'app', listen: false, auth: { token: 'app-token' }, endpoints: [endpointOf(server)] });
    const refused = await ask(app, 'stop');
    expect(refused).toEqual({
      ok: false,
      failure: { code: CommandNotPermittedError.code, message: 'peer "app" may not run commands on this node', available: undefined },
    });
    expect(server.status).toBe('started');

    const operator = await startNode({
      name: 'operator',
      listen: false,
      auth: { token: 'operator-token' },
      endpoints: [endpointOf(server)],
    });
    expect(await ask(operator, 'stats')).toMatchObject({ ok: true, result: { connectionsIn: 2 } });
    expect(await ask(operator, 'stop')).toMatchObject({
      ok: false,
      failure: { code: CommandNotPermittedError.code, available: ['stats', 'status'] },
    });
    expect(server.status).toBe('started');
    expect(server.stats).toBeDefined();
    expect(await server.command('status')).toMatchObject({ name: 'server' });
  });

  it('refuses to start on a non-loopback host without a handshake token', async () => {
    const error = await startNode({ name: 'open', listen: { host: '0.0.0.0', port: 0 } }, {}, { plugins: [remoteCommands()] }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RemoteCommandsUnauthenticatedError);
    expect(error).toMatchObject({ code: 'SYSTEMGE_ERR_REMOTE_COMMANDS_UNAUTHENTICATED', host: '0.0.0.0' });
    const withToken = await startNode(
      { name: 'guarded', listen: { host: '0.0.0.0', port: 0 }, auth: { token: 't' } },
      {},
      { plugins: [remoteCommands()] },
    );
    expect(withToken.status).toBe('started');
    const optedOut = await startNode(
      { name: 'trusted', listen: { host: '0.0.0.0', port: 0 } },
      {},
      { plugins: [remoteCommands({ allowUnauthenticated: true })] },
    );
    expect(optedOut.status).toBe('started');
  });

  it('reads results from links that answered with plain text as that text', () => {
    expect(decodeCommandResult('{"result":{"a":1}}')).toEqual({ a: 1 });
    expect(decodeCommandResult('{"result":"done"}')).toBe('done');
    expect(decodeCommandResult('node a stopped')).toBe('node a stopped');
    // JSON text from an older link's `stats` stays text: it is not an envelope.
    expect(decodeCommandResult('{\n  "asyncSent": 1\n}')).toBe('{\n  "asyncSent": 1\n}');
  });
});
