import { type ChildProcess, fork } from 'node:child_process';
import { afterEach, inject } from 'vitest';
import type { NodeConfig } from '../src/index.js';
import type { NodeProcessOptions } from './fixtures/node-process.js';

/** One event a child reported (see fixtures/node-process.ts). */
export interface ChildEvent {
  event: string;
  at: number;
  [key: string]: unknown;
}

/** A node running `fixtures/node-process.ts` in a child process. */
export interface ChildNode {
  readonly name: string;
  readonly endpoint: { host: string; port: number; name: string };
  readonly process: ChildProcess;
  /** What the child reported so far, oldest first. */
  readonly events: ChildEvent[];
  /** Resolves with the exit code and signal once the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends the signal and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

const children = new Set<ChildNode>();

afterEach(async () => {
  const all = [...children];
  children.clear();
  await Promise.all(all.map((c) => c.kill('SIGKILL')));
});

/**
 * Forks a node process with `config` (TCP on 127.0.0.1:0 unless `listen` is given) running the
 * `responder` app unless told otherwise, and waits until it listens.
 */
export function forkNode(
  config: Omit<NodeConfig, 'transport'>,
  options: Omit<NodeProcessOptions, 'config'> = {},
  timeoutMs = 10_000,
): Promise<ChildNode> {
  const child = fork(inject('childNodeScript'), [JSON.stringify({ ...options, config })], {
    execArgv: [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const events: ChildEvent[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once('exit', (code, signal) => resolve({ code, signal }));
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
    child.on('message', (message: { type: string; name?: string; port?: number; message?: string } & Partial<ChildEvent>) => {
      if (message.type === 'event') {
        const { type: _, ...event } = message;
        events.push(event as ChildEvent);
      } else if (message.type === 'failed') {
        clearTimeout(timer);
        reject(new Error(`node process ${config.name} failed to start: ${message.message}`));
      } else if (message.type === 'ready') {
        clearTimeout(timer);
        const handle: ChildNode = {
          name: message.name as string,
          endpoint: { host: '127.0.0.1', port: message.port as number, name: message.name as string },
          process: child,
          events,
          exited,
          kill,
        };
        children.add(handle);
        resolve(handle);
      }
    });
  });
}
