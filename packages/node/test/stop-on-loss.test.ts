import { describe, expect, it } from 'vitest';
import type { Logger } from '../src/index.js';
import { forkNode } from './child-node.js';
import { nextEvent, startNode, until } from './helpers.js';

/** A logger that keeps what it is given. */
function recordingLogger(): Logger & { lines: { level: string; obj: object; msg: string | undefined }[] } {
  const lines: { level: string; obj: object; msg: string | undefined }[] = [];
  const at =
    (level: string) =>
    (obj: object | string, msg?: string): void => {
      if (typeof obj === 'string') lines.push({ level, obj: {}, msg: obj });
      else lines.push({ level, obj, msg });
    };
  const logger = { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), lines };
  return { ...logger, child: () => logger };
}

describe("connection.onLoss 'stop'", () => {
  it('stops the node when the peer process dies, and emits and logs why', async () => {
    const peer = await forkNode({ name: 'doomed' });
    const logger = recordingLogger();
    const node = await startNode(
      { name: 'watcher', listen: false, endpoints: [peer.endpoint], connection: { onLoss: 'stop' } },
      {},
      { logger },
    );
    expect(node.peers().map((p) => p.name)).toEqual(['doomed']);
    const warning = nextEvent<[Error & { code: string; peer: string }]>(node, 'warning', 5000);
    const statuses: string[] = [];
    node.on('status', (s) => statuses.push(s));

    peer.process.kill('SIGKILL');

    const [error] = await warning;
    expect(error).toMatchObject({ code: 'SYSTEMGE_ERR_PEER_LOST', peer: 'doomed' });
    await until(() => node.status === 'stopped', 5000, 'the node to stop');
    expect(statuses).toEqual(['stopping', 'stopped']);
    const logged = logger.lines.find((l) => l.level === 'warn' && /onLoss is "stop"/.test(l.msg ?? ''));
    expect(logged?.msg).toContain('peer doomed lost');
    expect(logged?.obj).toMatchObject({ peer: 'doomed' });
    expect(node.stats.connectionsLost).toBe(1);
    // No redial happened.
    expect(node.stats.connectionAttempts).toBe(1);
  }, 10_000);
});
