import { type ChildProcess, fork } from 'node:child_process';
import { afterEach, inject } from 'vitest';
import type { NodeConfig } from '../src/index.js';


/** A node running `fixtures/node-process.ts` in a child process. */
export interface ChildNode {
  readonly name: string;
  readonly endpoint: { host: string; port: number; name: string };
  readonly process: ChildProcess;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;
  /** Sends the signal and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

const children = new Set<ChildNode>();

afterEach(async () => {
  const all = [...children];
  children.clear();
  await Promise.all(all.map((c) => c.kill('SIGKILL')));
});

/** Forks a node process with `config` (TCP on 127.0.0.1:0 unless given) and waits until it listens. */
export function forkNode(config: Omit<NodeConfig, 'transport'>, timeoutMs = 10_000): Promise<ChildNode> {
  const child = fork(inject('childNodeScript'), [JSON.stringify(config)], {
    execArgv: [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  const kill = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  return new Promise<ChildNode>((resolve, reject) => {
    const timer = setTimeout(() => {
      void kill('SIGKILL');
      reject(new Error(`node process ${config.name} not ready within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`node process ${config.name} exited before it was ready (${code ?? signal})`));
    });
    child.on('message', (message: { type: string; name?: string; port?: number; message?: string }) => {
      if (message.type === 'failed') {
        clearTimeout(timer);
        reject(new Error(`node process ${config.name} failed to start: ${message.message}`));
      } else if (message.type === 'ready') {
        clearTimeout(timer);
        const handle: ChildNode = {
          name: message.name as string,
          endpoint: { host: '127.0.0.1', port: message.port as number, name: message.name as string },
          process: child,
          exited,
          kill,
        };
        children.add(handle);
        resolve(handle);
      }
    });
  });
}
