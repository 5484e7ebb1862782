import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';

const children: ReturnType<typeof spawn>[] = [];
// A failed or timed-out run must not leave the example (and the processes it forked) behind.
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

it('runs ping and pong as two processes: async pings arrive before the sync answers, both exit', async () => {
  const child = spawn(process.execPath, ['ping.js'], { cwd: fileURLToPath(new URL('..', import.meta.url)) });
  children.push(child);
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise((resolve) => child.on('exit', resolve));
  expect(code, output).toBe(0);
  expect(output).toMatch(/pong is listening on 127\.0\.0\.1:\d+ \(pid \d+\)/);
  expect(output).toContain('ping connected to pong');
  for (let i = 1; i <= 3; i++) expect(output).toMatch(new RegExp(`sync ${i}: "pong #5 to ping: sync ${i}" in \\d+\\.\\d+ ms`));
  expect(output).toContain('both processes stopped');
}, 30_000);
