import { SystemgeError } from '@systemge/protocol';
import { describe, expect, it } from 'vitest';
import { cliLogger } from '../src/index.js';

class ListenFailed extends SystemgeError {
  constructor(message: string, cause: unknown) {
    super('SYSTEMGE_ERR_LISTEN_FAILED', message, { cause });
  }
}

function failure(): Error {
  const cause = Object.assign(new Error('listen EADDRINUSE: address already in use 127.0.0.1:7000'), { code: 'EADDRINUSE', port: 7000 });
  return new ListenFailed('cannot listen on 127.0.0.1:7000', cause);
}

describe('systemge start logs errors as data, not as {}', () => {
  it('writes an { err } as type, message, code, stack and cause in JSON lines', () => {
    const lines: string[] = [];
    cliLogger('info', 'json', (l) => lines.push(l))
      .child?.({ node: 'a' })
      .error({ err: failure() }, 'start failed');
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0] as string) as { level: string; node: string; msg: string; err: Record<string, unknown> };
    expect(entry).toMatchObject({ level: 'error', node: 'a', msg: 'start failed' });
    expect(entry.err).toMatchObject({
      type: 'ListenFailed',
      message: 'cannot listen on 127.0.0.1:7000',
      code: 'SYSTEMGE_ERR_LISTEN_FAILED',
    });
    expect(entry.err.stack).toEqual(expect.stringContaining('cannot listen on 127.0.0.1:7000'));
    expect(entry.err.stack).toEqual(expect.stringContaining('json-log-serializes-errors.test.ts'));
    expect(entry.err.cause).toMatchObject({
      type: 'Error',
      message: 'listen EADDRINUSE: address already in use 127.0.0.1:7000',
      code: 'EADDRINUSE',
      port: 7000,
      stack: expect.stringContaining('EADDRINUSE'),
    });
  });

  it('shows the message and code of an { err } on a pretty line, without the stack', () => {
    const lines: string[] = [];
    cliLogger('info', 'pretty', (l) => lines.push(l)).error({ err: failure(), port: 7000 }, 'start failed');
    expect(lines).toEqual([
      expect.stringMatching(
        /^\d\d:\d\d:\d\d\.\d{3} ERROR start failed {2}err="cannot listen on 127.0.0.1:7000 \(SYSTEMGE_ERR_LISTEN_FAILED\)" port=7000$/,
      ),
    ]);
  });

  it('drops entries below the chosen level and everything when silent', () => {
    const lines: string[] = [];
    cliLogger('warn', 'json', (l) => lines.push(l)).info({ err: failure() }, 'hidden');
    cliLogger('silent', 'json', (l) => lines.push(l)).error({ err: failure() }, 'hidden');
    cliLogger('debug', 'json', (l) => lines.push(l)).debug('shown');
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual(['shown']);
  });
});
