import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../bin/systemge.js', import.meta.url));

/** A `systemge` process; its output is collected line by line. */
export interface CLIProcess {
  readonly child: ChildProcess;
  readonly stdout: string[];
  readonly stderr: string[];
  /** Resolves with the exit code. */
  readonly exited: Promise<number>;
  /** Resolves with the first stdout line matching `pattern`; rejects on exit or after `timeoutMs`. */
  line(pattern: RegExp, timeoutMs?: number): Promise<string>;
}

/** Runs the `systemge` command from its sources (bin/systemge.js) in a child process. */
export function runCLI(args: string[], env: NodeJS.ProcessEnv = {}): CLIProcess {
  const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  const collect = (into: string[], notify: boolean) => {
    let rest = '';
    return (chunk: Buffer) => {
      const lines = (rest + chunk.toString('utf8')).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        into.push(line);
        if (!notify) continue;
        for (const w of waiters.splice(0)) {
          if (w.pattern.test(line)) w.resolve(line);
          else waiters.push(w);
        }
      }
    };
  };
  child.stdout!.on('data', collect(stdout, true));
  child.stderr!.on('data', collect(stderr, false));
  const exited = new Promise<number>((resolve) => child.once('close', (code, signal) => resolve(code ?? (signal === null ? -1 : 128))));
  return {
    child,
    stdout,
    stderr,
    exited,
    line(pattern, timeoutMs = 60_000) {
      const seen = stdout.find((l) => pattern.test(l));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(`no line matching ${pattern} within ${timeoutMs} ms; stdout: ${stdout.join('\n')}; stderr: ${stderr.join('\n')}`),
            ),
          timeoutMs,
        );
        void exited.then((code) => {
          clearTimeout(timer);
          reject(new Error(`systemge exited ${code} before printing ${pattern}; stderr: ${stderr.join('\n')}`));
        });
        waiters.push({
          pattern,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
      });
    },
  };
}

/** Runs `systemge` to completion: exit code and all output. */
export async function runToEnd(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const p = runCLI(args, env);
  const code = await p.exited;
  return { code, stdout: p.stdout.join('\n'), stderr: p.stderr.join('\n') };
}
