import type { CLIIO } from '../src/index.js';

/** An in-memory CLI IO: collects output; `stop()` plays the role of SIGINT. */
export function testIO(env: NodeJS.ProcessEnv = {}): CLIIO & { stdout: string[]; stderr: string[]; stop(): void } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  let signal: ((s: string) => void) | undefined;
  const stopped = new Promise<string>((resolve) => (signal = resolve));
  return {
    stdout,
    stderr,
    out: (line) => stdout.push(line),
    err: (line) => stderr.push(line),
    env,
    stopSignal: () => stopped,
    stop: () => signal?.('SIGINT'),
  };
}
