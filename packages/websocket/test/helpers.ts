import { createNode, type NodeConfig, type NodePlugin, type SystemgeNode } from '@systemge/node';
import { tcpTransport } from '@systemge/transport-tcp';
import { afterEach } from 'vitest';
import { WebSocket, type ClientOptions } from 'ws';

const cleanups: (() => Promise<unknown> | unknown)[] = [];

afterEach(async () => {
  const pending = cleanups.splice(0).reverse();
  for (const cleanup of pending) await cleanup();
});

export function onTeardown(cleanup: () => Promise<unknown> | unknown): void {
  cleanups.push(cleanup);
}

/** A started node on 127.0.0.1:0 over TCP with the given plugins, stopped after the test. */
export async function startNode(
  config: Partial<NodeConfig> & { name: string },
  application: object = {},
  plugins: NodePlugin[] = [],
): Promise<SystemgeNode> {
  const node = createNode({ transport: tcpTransport(), ...config }, application, { plugins });
  onTeardown(() => node.stop());
  await node.start();
  return node;
}

export function endpointOf(node: SystemgeNode): { host: string; port: number } {
  const address = node.address;
  if (address === undefined) throw new Error(`${node.name} is not listening`);
  return { host: address.host, port: address.port };
}

/** Resolves when `predicate` holds, checking after each event-loop turn; rejects after `timeoutMs`. */
export async function until(predicate: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

export interface Received {
  topic: string;
  payload: unknown;
}

/** A real `ws` client that records what it receives. */
export class TestClient {
  readonly messages: Received[] = [];
  closeCode: number | undefined;
  closeReason = '';
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (isBinary) this.messages.push({ topic: '(binary)', payload: data });
      else this.messages.push(JSON.parse((data as Buffer).toString('utf8')) as Received);
    });
    this.closed = new Promise((resolve) => {
      ws.once('close', (code, reason) => {
        this.closeCode = code;
        this.closeReason = reason.toString('utf8');
        resolve({ code, reason: this.closeReason });
      });
    });
    ws.on('error', () => {});
  }

  static open(url: string, options?: ClientOptions, timeoutMs = 5000): Promise<TestClient> {
    const ws = new WebSocket(url, options);
    const client = new TestClient(ws);
    onTeardown(() => ws.terminate());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no WebSocket open within ${timeoutMs} ms`)), timeoutMs);
      ws.once('open', () => {
        clearTimeout(timer);
        resolve(client);
      });
      ws.once('unexpected-response', (_req, res) => {
        clearTimeout(timer);
        reject(Object.assign(new Error(`upgrade refused with ${res.statusCode}`), { statusCode: res.statusCode }));
      });
      ws.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  }

  send(topic: string, payload?: unknown): void {
    this.ws.send(JSON.stringify({ topic, payload }));
  }

  sendRaw(data: string | Buffer, binary = false): void {
    this.ws.send(data, { binary });
  }

  /** The message at `index` (0-based, counting from the first one received), once it arrives. */
  async nth(index: number, timeoutMs = 5000): Promise<Received> {
    await until(() => this.messages.length > index, timeoutMs, `message #${index}`);
    return this.messages[index] as Received;
  }

  async waitClosed(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`client not closed within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([this.closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
