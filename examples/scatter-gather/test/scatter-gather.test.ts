import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';

const children: ReturnType<typeof spawn>[] = [];
// A failed or timed-out run must not leave the example (and the processes it forked) behind.
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

it('gathers four answers before the timeout, three with maxResponses, one from named workers, then balances requests one worker at a time', async () => {
  const child = spawn(process.execPath, ['run.js'], { cwd: fileURLToPath(new URL('..', import.meta.url)) });
  children.push(child);
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise((resolve) => child.on('exit', resolve));
  expect(code, output).toBe(0);
  expect(output).toContain('buyer connected to 5 workers');
  for (const [worker, quote] of [
    ['worker-1', 104],
    ['worker-2', 99],
    ['worker-3', 101],
    ['worker-4', 97],
  ]) {
    expect(output).toContain(`  ${worker}: quote ${quote}`);
  }
  expect(output).not.toMatch(/worker-5: quote/);
  expect(output).toContain('request 1: outcome timeout, 4 responses, missing worker-5');
  expect(output).toMatch(/request 2: outcome max-responses, 3 responses: (worker-\d=\d+ ?){3}\n/);
  expect(output).toMatch(/request 3: first answer from named workers: \{"item":"widget","quote":(99|97),"by":"worker-(2|4)"\}/);
  expect(output).toContain('request 4: 5 balanced requests answered by worker-1, worker-2, worker-3, worker-4, worker-5');
  expect(output).toContain('request 5: 3 requests with key customer-7 answered by 1 worker');
  expect(output).toContain('all processes stopped');
}, 30_000);
