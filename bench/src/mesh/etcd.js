/**
 * One etcd server for the mesh-formation benchmark: free loopback ports, a temp data dir, started
 * and awaited healthy; `remove()` kills it and deletes the data dir. `SYSTEMGE_ETCD` overrides the
 * binary (default `/usr/bin/etcd`, Debian's `etcd-server`).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ETCD = process.env.SYSTEMGE_ETCD ?? '/usr/bin/etcd';

/** True when the etcd binary is there. */
export function etcdAvailable() {
  return existsSync(ETCD);
}

/** A port that was free a moment ago on 127.0.0.1 (etcd takes its ports on the command line). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts etcd; resolves with `{ endpoint, remove() }` once it answers `/health`, within `timeoutMs`. */
export async function startEtcd(timeoutMs = 30_000) {
  const dir = await mkdtemp(join(tmpdir(), 'systemge-bench-etcd-'));
  const clientUrl = `http://127.0.0.1:${await freePort()}`;
  const peerUrl = `http://127.0.0.1:${await freePort()}`;
  const child = spawn(
    ETCD,
    [
      '--name',
      'bench',
      '--data-dir',
      join(dir, 'data'),
      '--listen-client-urls',
      clientUrl,
      '--advertise-client-urls',
      clientUrl,
      '--listen-peer-urls',
      peerUrl,
      '--initial-advertise-peer-urls',
      peerUrl,
      '--initial-cluster',
      `bench=${peerUrl}`,
      '--initial-cluster-state',
      'new',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  const append = (chunk) => {
    log = (log + chunk.toString('utf8')).slice(-10_000);
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const remove = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await remove();
      throw new Error(`etcd exited before it was healthy:\n${log}`);
    }
    try {
      const res = await fetch(`${clientUrl}/health`, { signal: AbortSignal.timeout(1000) });
      if ((await res.json()).health === 'true') break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await remove();
      throw new Error(`etcd not healthy within ${timeoutMs} ms:\n${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { endpoint: clientUrl, remove };
}
