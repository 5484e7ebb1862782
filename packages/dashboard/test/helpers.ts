import { type ChildProcess, fork } from 'node:child_process';
import { createNode, type Application, type NodeConfig, type NodeOptions, type SystemgeNode } from '@systemge/node';
import { tcpTransport } from '@systemge/transport-tcp';
import { afterEach, inject } from 'vitest';
import WebSocket from 'ws';
import { createDashboard, type Dashboard, type DashboardOptions } from '../src/index.js';

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  // Dashboards first, so that killed children do not make them log their own disconnects after the test.
  const all = cleanups.splice(0).reverse();
  for (const cleanup of all) await cleanup().catch(() => {});
});

/** Registers teardown for the current test. */
export function onCleanup(cleanup: () => Promise<void> | void): void {
  cleanups.push(async () => {
    await cleanup();
  });
}

/** A started node on 127.0.0.1:0 over TCP, stopped after the test. */
export async function startNode(
  config: Partial<NodeConfig> & { name: string },
  application: Application = {},
  options?: NodeOptions,
): Promise<SystemgeNode> {
  const node = createNode({ transport: tcpTransport(), ...config }, application, options);
  onCleanup(() => node.stop());
  await node.start();
  return node;
}

/** A dashboard, stopped after the test; started unless `start` is false. */
export async function startDashboard(options: DashboardOptions = {}, start = true): Promise<Dashboard> {
  const dashboard = createDashboard({ metricsIntervalMs: 100, ...options });
  onCleanup(() => dashboard.stop());
  if (start) await dashboard.start();
  return dashboard;
}

/** Resolves when `predicate` holds, checked after each event-loop turn; rejects after `timeoutMs`. */
export async function until(predicate: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** A message from the dashboard's `/ws` feed. */
export interface FeedMessage {
  type: string;
  [key: string]: unknown;
}

/** A `/ws` client that records every message and can await the next one matching a predicate. */
export class FeedClient {
  readonly messages: FeedMessage[] = [];
  private waiters: { match: (m: FeedMessage) => boolean; resolve: (m: FeedMessage) => void }[] = [];

  constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as FeedMessage;
      this.messages.push(message);
      this.waiters = this.waiters.filter((w) => {
        if (!w.match(message)) return true;
        w.resolve(message);
        return false;
      });
    });
  }

  /** The first message so far, or the next one, that matches; rejects after `timeoutMs`. */
  next(match: (m: FeedMessage) => boolean, timeoutMs = 5000, what = 'feed message', since = 0): Promise<FeedMessage> {
    const seen = this.messages.slice(since).find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${what} within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        match,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }

  send(message: object): void {
    this.socket.send(JSON.stringify(message));
  }
}

/** Opens `/ws` of a started dashboard; closed after the test. Rejects with the HTTP status when the upgrade is refused. */
export function openFeed(
  dashboard: Dashboard,
  options: { token?: string; origin?: string; protocols?: string[]; headers?: Record<string, string> } = {},
): Promise<FeedClient> {
  const url = `${dashboard.url!.replace(/^http/, 'ws')}/ws`;
  const protocols = options.protocols ?? (options.token === undefined ? [] : ['systemge.dashboard.v1', `systemge.bearer.${options.token}`]);
  const socket = new WebSocket(url, protocols, {
    headers: { ...(options.origin === undefined ? {} : { origin: options.origin }), ...options.headers },
  });
  const client = new FeedClient(socket);
  onCleanup(
    () =>
      new Promise<void>((resolve) => {
        if (socket.readyState === WebSocket.CLOSED) return resolve();
        socket.once('close', () => resolve());
        socket.terminate();
      }),
  );
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(client));
    socket.once('unexpected-response', (_request, response) => {
      reject(Object.assign(new Error(`upgrade refused with ${response.statusCode}`), { statusCode: response.statusCode }));
      socket.terminate();
    });
    socket.once('error', reject);
  });
}

/** Two nodes in another process, linked to the dashboard; killed after the test. */
export interface RemoteProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** SIGKILLs the process and waits for its exit. */
  kill(): Promise<void>;
}

export function forkRemoteNodes(args: {
  dashboardPort: number;
  token?: string;
  prefix: string;
  heartbeatIntervalMs?: number;
  heartbeatTimeoutMs?: number;
}): Promise<RemoteProcess> {
  const child = fork(inject('remoteProcessScript'), [JSON.stringify({ heartbeatIntervalMs: 200, heartbeatTimeoutMs: 600, ...args })], {
    execArgv: [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  const kill = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  onCleanup(kill);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('remote nodes not ready within 10 s')), 10_000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`remote process exited before it was ready (${code ?? signal})`));
    });
    child.on('message', (message: { type?: string; pid?: number; code?: string }) => {
      if (message.type === 'refused') {
        clearTimeout(timer);
        reject(Object.assign(new Error(`the dashboard refused the remote links: ${message.code}`), { code: message.code }));
        return;
      }
      if (message.type !== 'ready') return;
      clearTimeout(timer);
      resolve({ child, pid: message.pid!, kill });
    });
  });
}
