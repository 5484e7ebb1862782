import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/*
 * A one-member etcd on loopback for the CLI's discovery tests (the 3.4 server Debian's
 * `etcd-server` installs; `SYSTEMGE_ETCD` names another binary).
 */

const ETCD = process.env.SYSTEMGE_ETCD ?? '/usr/bin/etcd';

/** A port that was free a moment ago on 127.0.0.1 (etcd takes ports on its command line, not port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface TestEtcd {
  /** The client URL, `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  readonly process: ChildProcess;
  /** The member keys under `prefix`, read through the v3 JSON gateway. */
  keys(prefix: string): Promise<string[]>;
  /** Kills etcd and removes its data dir. */
  remove(): Promise<void>;
}

/** Starts etcd on loopback (`clientPort`, else a free port) with a temporary data dir; resolves once it answers healthy. */
export async function startEtcd(options: { clientPort?: number; timeoutMs?: number } = {}): Promise<TestEtcd> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const dir = await mkdtemp(join(tmpdir(), 'systemge-cli-etcd-'));
  const clientPort = options.clientPort ?? (await freePort());
  const peerPort = await freePort();
  const endpoint = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const child = spawn(
    ETCD,
    [
      '--name',
      'cli-test',
      '--data-dir',
      join(dir, 'data'),
      '--listen-client-urls',
      endpoint,
      '--advertise-client-urls',
      endpoint,
      '--listen-peer-urls',
      peer,
      '--initial-advertise-peer-urls',
      peer,
      '--initial-cluster',
      `cli-test=${peer}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  const append = (chunk: Buffer): void => {
    log = (log + chunk.toString('utf8')).slice(-10_000);
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const remove = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) {
      await remove();
      throw new Error(`etcd exited before it was healthy:\n${log}`);
    }
    try {
      const res = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1000) });
      if (((await res.json()) as { health?: string }).health === 'true') break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await remove();
      throw new Error(`etcd not healthy within ${timeoutMs} ms:\n${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
  return {
    endpoint,
    process: child,
    async keys(prefix) {
      // range_end: the prefix with its last byte incremented.
      const end = Buffer.from(prefix, 'utf8');
      end[end.length - 1] = (end[end.length - 1] as number) + 1;
      const res = await fetch(`${endpoint}/v3/kv/range`, {
        method: 'POST',
        body: JSON.stringify({ key: b64(prefix), range_end: end.toString('base64'), keys_only: true }),
      });
      const body = (await res.json()) as { kvs?: { key: string }[] };
      return (body.kvs ?? []).map((kv) => Buffer.from(kv.key, 'base64').toString('utf8'));
    },
    remove,
  };
}
