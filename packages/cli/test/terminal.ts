import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../bin/systemge.js', import.meta.url));

/** `script` (util-linux, Debian's essential bsdutils) runs a command on a pseudo-terminal. */
export const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;

/** A `systemge` process on a pseudo-terminal: type keys, read the screen output. */
export interface Terminal {
  readonly child: ChildProcess;
  readonly exited: Promise<number>;
  /** Everything printed so far, ANSI control sequences and carriage returns removed. */
  text(): string;
  /** Output printed since the last mark. */
  mark(): number;
  type(keys: string): void;
  /** Resolves when the output after `from` matches `pattern`; rejects after `timeoutMs` or on exit. */
  waitFor(pattern: RegExp, from?: number, timeoutMs?: number): Promise<string>;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: strips the terminal's ANSI escape sequences
const ANSI = /\u001b\[[0-9;?]*[A-Za-z]|\u001b[()][AB0-2]|\r/g;

function quote(arg: string): string {
  return `'${arg.replaceAll("'", "'\\''")}'`;
}

export function runOnTerminal(args: string[], env: NodeJS.ProcessEnv): Terminal {
  const command = `stty cols 160 rows 50; exec ${[process.execPath, BIN, ...args].map(quote).join(' ')}`;
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    env: { PATH: process.env.PATH, TERM: 'xterm', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let raw = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer): void => {
    raw += chunk.toString('utf8');
    for (const l of [...listeners]) l();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number>((resolve) => child.once('close', (code) => resolve(code ?? -1)));
  let done = false;
  void exited.then(() => {
    done = true;
    for (const l of [...listeners]) l();
  });
  const text = (): string => raw.replace(ANSI, '');
  return {
    child,
    exited,
    text,
    mark: () => text().length,
    type: (keys) => {
      child.stdin!.write(keys);
    },
    waitFor(pattern, from = 0, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const seen = text().slice(from);
          const m = pattern.exec(seen);
          if (m !== null) {
            listeners.delete(check);
            clearTimeout(timer);
            resolve(m[0]);
          } else if (done) {
            listeners.delete(check);
            clearTimeout(timer);
            reject(new Error(`exited before printing ${pattern}; output:\n${seen}`));
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`no output matching ${pattern} within ${timeoutMs} ms; output:\n${text().slice(from)}`));
        }, timeoutMs);
        listeners.add(check);
        check();
      });
    },
  };
}
