import { createServer, type Server } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ConnectProgressLog } from '../src/connect/connect-progress.js';
import type { Logger } from '../src/index.js';
import { nextEvent, startNode } from './helpers.js';

function recordingLogger(lines: { level: string; msg: string; fields: Record<string, unknown> }[]): Logger {
  const at = (level: string) => (obj: object | string, msg?: string) => {
    lines.push(
      typeof obj === 'string' ? { level, msg: obj, fields: {} } : { level, msg: msg ?? '', fields: obj as Record<string, unknown> },
    );
  };
  return { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

describe('connection progress while an endpoint is unreachable', () => {
  it('warns once, then says what it waits for at most once per interval, naming the attempt and the next retry', () => {
    const lines: { level: string; msg: string; fields: Record<string, unknown> }[] = [];
    let now = 0;
    const log = new ConnectProgressLog(recordingLogger(lines), 10_000, () => now);
    const refused = new Error('ECONNREFUSED');
    for (let attempt = 1; attempt <= 30; attempt++) {
      log.failed('10.0.0.1:9000', attempt, refused, 2000);
      now += 2000;
    }
    log.connected('10.0.0.1:9000', 31);
    const visible = lines.filter((l) => l.level !== 'debug');
    expect(visible[0]).toMatchObject({ level: 'warn', msg: 'cannot reach 10.0.0.1:9000 (ECONNREFUSED); next retry in 2.0 s' });
    expect(visible[1]).toMatchObject({
      level: 'info',
      msg: 'waiting for 10.0.0.1:9000: attempt 6 failed (ECONNREFUSED); next retry in 2.0 s',
    });
    // 60 s of attempts every 2 s: the first warning, one line per 10 s, and the success.
    expect(visible.map((l) => l.level)).toEqual(['warn', 'info', 'info', 'info', 'info', 'info', 'info']);
    expect(visible.at(-1)).toMatchObject({ level: 'info', msg: 'reached 10.0.0.1:9000 after 31 attempts' });
    expect(lines.filter((l) => l.level === 'debug')).toHaveLength(24);
  });

  it('reports a real unreachable endpoint with maxAttempts 0 and the delay before the next attempt', async () => {
    // A port that was free a moment ago: nothing listens there.
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));

    const lines: { level: string; msg: string; fields: Record<string, unknown> }[] = [];
    const node = await startNode(
      { name: 'waiting', listen: false, connection: { maxAttempts: 1, initialDelayMs: 50, onFailure: 'continue' } },
      {},
      { logger: recordingLogger(lines) },
    );
    const failed = nextEvent<[unknown, number, Error, number | undefined]>(node, 'connect:failed');
    const connecting = node.connect({ host: '127.0.0.1', port }).catch((e: unknown) => e);
    const [, attempt, , retryInMs] = await failed;
    expect(attempt).toBe(1);
    expect(retryInMs).toBeUndefined();
    await connecting;
    expect(lines.find((l) => l.level === 'warn' && l.msg.startsWith(`cannot reach 127.0.0.1:${port}`))?.msg).toMatch(/; no more attempts$/);
  });
});
