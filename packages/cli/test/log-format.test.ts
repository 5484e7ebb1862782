import { describe, expect, it } from 'vitest';
import { cliLogger, main, prettyLine } from '../src/index.js';
import { testIO } from './io.js';

/** The escape character that starts the pretty format's ANSI colours. */
const ESC = '\u001b';

describe('systemge start logs: readable lines on a terminal, JSON lines otherwise', () => {
  it('formats one readable line per entry, without repeating what the message says', () => {
    const line = prettyLine(
      'warn',
      new Date('2026-01-02T03:04:05.678Z'),
      { node: 'a', endpoint: '10.0.0.1:9', attempt: 1, err: 'ECONNREFUSED', msg: 'cannot reach 10.0.0.1:9 (ECONNREFUSED)' },
      false,
    );
    expect(line).toBe('03:04:05.678 WARN  a: cannot reach 10.0.0.1:9 (ECONNREFUSED)  attempt=1');
    expect(prettyLine('info', new Date(0), { msg: 'x', detail: 'two words' }, true)).toMatch(
      new RegExp(`${ESC}\\[36mINFO ${ESC}\\[0m x {2}.*detail="two words"`),
    );
  });

  it('writes JSON lines in json format and readable lines in pretty format, at the chosen level', () => {
    const json: string[] = [];
    const pretty: string[] = [];
    cliLogger('info', 'json', (l) => json.push(l))
      .child?.({ node: 'n' })
      .info({ port: 1 }, 'listening');
    cliLogger('info', 'pretty', (l) => pretty.push(l))
      .child?.({ node: 'n' })
      .info({ port: 1 }, 'listening');
    cliLogger('warn', 'pretty', (l) => pretty.push(l)).info('hidden below warn');
    expect(JSON.parse(json[0] as string)).toMatchObject({ level: 'info', node: 'n', port: 1, msg: 'listening' });
    expect(pretty).toEqual([expect.stringMatching(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}n: listening {2}port=1$/)]);
  });

  it('picks pretty on a terminal and json otherwise, unless --log-format says', async () => {
    const run = async (args: string[], errIsTTY: boolean) => {
      const io = { ...testIO(), errIsTTY };
      const done = main(['start', new URL('./fixtures/one-node.yaml', import.meta.url).pathname, ...args], io);
      while (!io.stdout.some((l) => l.startsWith('systemge: started'))) await new Promise((r) => setImmediate(r));
      io.stop();
      expect(await done).toBe(0);
      return io.stderr;
    };
    const tty = await run([], true);
    expect(tty.length).toBeGreaterThan(0);
    expect(tty.every((l) => /^\d\d:\d\d:\d\d\.\d{3} /.test(l))).toBe(true);
    const piped = await run([], false);
    expect(piped.every((l) => JSON.parse(l).level !== undefined)).toBe(true);
    const forced = await run(['--log-format', 'json'], true);
    expect(forced.every((l) => l.startsWith('{'))).toBe(true);
    const io = testIO();
    expect(await main(['start', 'x.yaml', '--log-format', 'xml'], io)).toBe(2);
    expect(io.stderr.join('\n')).toMatch(/--log-format must be one of pretty, json/);
  });
});
