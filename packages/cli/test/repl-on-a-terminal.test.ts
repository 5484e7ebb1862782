import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfigFile, type RunningSystem, startSystem } from '../src/index.js';
import { hasScript, runOnTerminal, type Terminal } from './terminal.js';

if (!hasScript) {
  // Loud on purpose: these tests need `script` (util-linux's bsdutils, part of every Debian).
  console.warn('\n*** SKIPPED: the systemge repl terminal tests need the `script` command (apt-get install bsdutils) ***\n');
}

const dir = mkdtempSync(join(tmpdir(), 'systemge-cli-repl-'));
copyFileSync(new URL('./fixtures/repl-app.js', import.meta.url), join(dir, 'repl-app.js'));
const systems: RunningSystem[] = [];
const terminals: Terminal[] = [];
afterEach(async () => {
  for (const t of terminals.splice(0)) {
    if (t.child.exitCode === null) t.child.kill('SIGKILL');
    await t.exited;
  }
  for (const s of systems.splice(0)) await s.stop();
});

async function system(name: string, content: unknown): Promise<RunningSystem> {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(content, null, 2));
  const s = await startSystem(loadConfigFile(file, {}));
  systems.push(s);
  return s;
}

function addressOf(s: RunningSystem, node: string): string {
  const a = s.nodes.find((r) => r.node.name === node)?.node.address;
  if (a === undefined) throw new Error(`${node} has no address`);
  return `${a.host}:${a.port}`;
}

describe.skipIf(!hasScript)('systemge repl, driven through a pseudo-terminal', () => {
  it('talks to nodes directly: nodes, use with tab completion, commands, call, emit, watch, history, exit', async () => {
    // Two processes' worth of nodes: beta dials alpha.
    const s = await system('direct.json', { nodes: [{ name: 'alpha', application: './repl-app.js', commands: { remote: true } }] });
    const alphaPort = Number(addressOf(s, 'alpha').split(':')[1]);
    const s2 = await system('direct-beta.json', {
      nodes: [
        { name: 'beta', application: './repl-app.js', commands: { remote: true }, endpoints: [{ host: '127.0.0.1', port: alphaPort }] },
      ],
    });
    const history = join(dir, 'history');
    const t = runOnTerminal(['repl', '--node', addressOf(s, 'alpha'), '--node', addressOf(s2, 'beta')], { SYSTEMGE_REPL_HISTORY: history });
    terminals.push(t);
    await t.waitFor(/connected to alpha, beta; nodes: alpha, beta\. Type help for commands\.\nsystemge> /);

    let at = t.mark();
    t.type('nodes\r');
    await t.waitFor(/ {2}alpha {2}connected {2}127\.0\.0\.1:\d+\n {2}beta {3}connected {2}127\.0\.0\.1:\d+\nsystemge> /, at);

    // Tab completes the node name after `use`, then a command name.
    at = t.mark();
    t.type('use al\t');
    await t.waitFor(/use alpha/, at);
    t.type('\r');
    await t.waitFor(/systemge\(alpha\)> /, at);
    at = t.mark();
    t.type('gre\t');
    await t.waitFor(/greet/, at);
    t.type(' you\r');
    await t.waitFor(/hello you\nsystemge\(alpha\)> /, at);

    // Data prints as indented JSON.
    at = t.mark();
    t.type('stats\r');
    await t.waitFor(/\{\n {2}"asyncSent": \d+,[\s\S]*\}\nsystemge\(alpha\)> /, at);

    // A sync request and an async message to the node in use.
    at = t.mark();
    t.type('call echo "hi there"\r');
    await t.waitFor(/alpha: \{\n {2}"from": "alpha",\n {2}"got": "\\"hi there\\""\n\}/, at);
    at = t.mark();
    t.type('emit note one\r');
    await t.waitFor(/sent to alpha\n/, at);
    at = t.mark();
    t.type('notes\r');
    await t.waitFor(/"notes": 1/, at);

    // Errors are printed, the console goes on.
    at = t.mark();
    t.type('nope\r');
    await t.waitFor(/error: command "nope" on node "alpha" failed: unknown command "nope"[^\n]*\navailable commands: [^\n]*greet/, at);

    // Live rates until Enter, then until Ctrl+C for another node.
    at = t.mark();
    t.type('watch\r');
    await t.waitFor(/alpha {2}msgs in \d+\.\d\/s out \d+\.\d\/s {2}sync in [^\n]* {2}bytes in [^\n]* {2}peers 2/, at, 20_000);
    t.type('\r');
    await t.waitFor(/\nsystemge\(alpha\)> /, at);
    at = t.mark();
    t.type('watch beta\r');
    await t.waitFor(/beta {2}msgs in/, at, 20_000);
    t.type('\u0003');
    await t.waitFor(/\nsystemge\(alpha\)> /, at);

    // History: up arrow walks back through the lines: watch beta, watch, nope.
    at = t.mark();
    t.type('\u001b[A\u001b[A\u001b[A');
    await t.waitFor(/nope/, at);
    t.type('\u0015exit\r');
    expect(await t.exited).toBe(0);
    const saved = readFileSync(history, 'utf8').split('\n');
    expect(saved).toEqual(expect.arrayContaining(['nodes', 'use alpha', 'greet you', 'stats', 'watch beta']));
  }, 90_000);

  it('talks to a dashboard: nodes with status, use, commands, watch; call needs a node', async () => {
    const s = await system('dashboard.json', {
      dashboard: { port: 0 },
      nodes: [
        { name: 'one', application: './repl-app.js' },
        { name: 'two', application: './repl-app.js' },
      ],
    });
    const t = runOnTerminal(['repl', '--dashboard', s.dashboard!.url!], { SYSTEMGE_REPL_HISTORY: join(dir, 'history-dashboard') });
    terminals.push(t);
    await t.waitFor(/nodes: one, two\. Type help for commands\.\nsystemge> /);
    let at = t.mark();
    t.type('nodes\r');
    await t.waitFor(/ {2}one +started {2}127\.0\.0\.1:\d+\n {2}two +started {2}127\.0\.0\.1:\d+/, at);
    at = t.mark();
    t.type('stats\r');
    await t.waitFor(/error: pick a node first: use <node> \(nodes: one, two\)/, at);
    at = t.mark();
    t.type('use t\t');
    await t.waitFor(/use two/, at);
    t.type('\r');
    await t.waitFor(/systemge\(two\)> /, at);
    at = t.mark();
    t.type('connections\r');
    await t.waitFor(/^\[\]$/m, at);
    at = t.mark();
    t.type('greet dashboard\r');
    await t.waitFor(/hello dashboard/, at);
    at = t.mark();
    t.type('call echo x\r');
    await t.waitFor(/error: call and emit go to a node directly: start the console with --node <host:port>/, at);
    at = t.mark();
    t.type('watch\r');
    await t.waitFor(/two {2}msgs in/, at, 20_000);
    t.type('\u0003');
    await t.waitFor(/\nsystemge\(two\)> /, at);
    t.type('\u0004');
    expect(await t.exited).toBe(0);
  }, 60_000);
});

describe('systemge repl without a terminal', () => {
  it('reads a script of lines from a pipe, runs them in order and exits at the end of input', async () => {
    const s = await system('piped.json', { nodes: [{ name: 'solo', application: './repl-app.js', commands: { remote: true } }] });
    const child = spawn(
      process.execPath,
      [fileURLToPath(new URL('../bin/systemge.js', import.meta.url)), 'repl', '--node', addressOf(s, 'solo')],
      {
        env: { PATH: process.env.PATH, SYSTEMGE_REPL_HISTORY: join(dir, 'history-piped') },
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stdin.end('emit note a\nemit note b\nnotes\ngreet piped\n');
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    expect(out).toBe(
      'connected to solo; nodes: solo. Type help for commands.\nsent to solo\nsent to solo\n{\n  "notes": 2\n}\nhello piped\n',
    );
  }, 30_000);
});
