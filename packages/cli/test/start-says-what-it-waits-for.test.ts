import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type CLIProcess, runCLI } from './real-cli.js';

const running: CLIProcess[] = [];
afterEach(async () => {
  for (const p of running.splice(0)) {
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
    await p.exited;
  }
});

/** Resolves with the first stderr line matching `pattern`; rejects after `timeoutMs`. */
function stderrLine(p: CLIProcess, pattern: RegExp, timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      const hit = p.stderr.find((l) => pattern.test(l));
      if (hit === undefined) return false;
      clearTimeout(timer);
      p.child.stderr!.off('data', onData);
      resolve(hit);
      return true;
    };
    const onData = (): void => void setImmediate(check);
    const timer = setTimeout(() => {
      p.child.stderr!.off('data', onData);
      reject(new Error(`no stderr line matching ${pattern} within ${timeoutMs} ms; stderr: ${p.stderr.join('\n')}`));
    }, timeoutMs);
    if (!check()) p.child.stderr!.on('data', onData);
  });
}

describe('systemge start with an unreachable endpoint and maxAttempts 0', () => {
  it('says what it is waiting for: the endpoint, the attempt, the next retry; then reports reaching it', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));

    const dir = mkdtempSync(join(tmpdir(), 'systemge-cli-waiting-'));
    const file = join(dir, 'waiting.yaml');
    writeFileSync(
      file,
      `nodes:\n  - name: waiting\n    endpoints:\n      - host: 127.0.0.1\n        port: ${port}\n    connection:\n      maxAttempts: 0\n      initialDelayMs: 100\n      maxDelayMs: 300\n`,
    );
    const p = runCLI(['start', file, '--log-format', 'json']);
    running.push(p);
    await p.line(/^systemge: starting 1 node/);
    const first = JSON.parse(await stderrLine(p, /cannot reach/)) as Record<string, unknown>;
    expect(first).toMatchObject({ level: 'warn', node: 'waiting', endpoint: `127.0.0.1:${port}`, attempt: 1 });
    expect(first.msg).toMatch(new RegExp(`^cannot reach 127\\.0\\.0\\.1:${port} \\(.*ECONNREFUSED\\); next retry in \\d+\\.\\d s$`));

    // The endpoint comes up: the node reaches it and starts.
    const peerFile = join(dir, 'peer.yaml');
    writeFileSync(peerFile, `nodes:\n  - name: peer\n    listen:\n      host: 127.0.0.1\n      port: ${port}\n`);
    const peer = runCLI(['start', peerFile]);
    running.push(peer);
    await p.line(/^systemge: started 1 node/, 20_000);
    const reached = JSON.parse(await stderrLine(p, /reached 127/)) as Record<string, unknown>;
    expect(reached).toMatchObject({ level: 'info', msg: expect.stringMatching(/^reached 127\.0\.0\.1:\d+ after \d+ attempts$/) });
    // Rate-limited: attempts every ≤ 0.3 s, but at most one line per 10 s after the first warning.
    const waitingLines = p.stderr.filter((l) => /cannot reach|waiting for/.test(l));
    expect(waitingLines.length).toBeLessThanOrEqual(1 + Math.ceil((Date.now() - Date.parse(String(first.time))) / 10_000));
  }, 40_000);
});
