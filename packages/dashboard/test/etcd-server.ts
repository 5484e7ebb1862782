import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ETCD = process.env['SYSTEMGE_ETCD'] ?? '/usr/bin/etcd';

/** A port that was free a moment ago on 127.0.0.1 (etcd takes ports on its command line, not port 0). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** One etcd process on loopback ports with a temporary data dir. */
export interface EtcdServer {
  readonly endpoint: string;
  /** SIGKILLs the process and waits for its exit. */
  kill(): Promise<void>;
  /** Kills the process and removes the data dir. */
  remove(): Promise<void>;
}

/** Starts a one-member etcd and resolves once it answers healthy on `/health`. */
export async function startEtcd(timeoutMs = 30_000): Promise<EtcdServer> {
  const dir = await mkdtemp(join(tmpdir(), 'systemge-dashboard-etcd-'));
  const clientPort = await freePort();
  const peerPort = await freePort();
  const endpoint = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  let log = '';
  const child: ChildProcess = spawn(
    ETCD,
    [
      '--name',
      'etcd0',
      '--data-dir',
      join(dir, 'etcd0'),
      '--listen-client-urls',
      endpoint,
      '--advertise-client-urls',
      endpoint,
      '--listen-peer-urls',
      peerUrl,
      '--initial-advertise-peer-urls',
      peerUrl,
      '--initial-cluster',
      `etcd0=${peerUrl}`,
      '--initial-cluster-state',
      'new',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const append = (chunk: Buffer): void => {
    log = (log + chunk.toString('utf8')).slice(-20_000);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const kill = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await exited;
  };
  const server: EtcdServer = {
    endpoint,
    kill,
    remove: async () => {
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) {
      await server.remove();
      throw new Error(`etcd exited before it was healthy:\n${log}`);
    }
    try {
      const res = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1000) });
      if (((await res.json()) as { health?: string }).health === 'true') return server;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await server.remove();
      throw new Error(`etcd not healthy within ${timeoutMs} ms:\n${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
