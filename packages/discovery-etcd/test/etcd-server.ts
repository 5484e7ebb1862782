import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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

/** TLS files for etcd's client port. */
export interface EtcdServerTLS {
  certFile: string;
  keyFile: string;
  caFile?: string;
}

export interface EtcdMember {
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  process: ChildProcess | undefined;
  /** Output of the current process, for failure messages. */
  log: string;
  /** SIGKILLs the process and waits for its exit. */
  kill(): Promise<void>;
  /** Starts the process again on the same ports and data dir; resolves when it answers /health. */
  restart(): Promise<void>;
}

export interface EtcdCluster {
  readonly members: EtcdMember[];
  readonly endpoints: string[];
  /** Kills every member and removes the data dirs. */
  remove(): Promise<void>;
}

const ETCD = process.env['SYSTEMGE_ETCD'] ?? '/usr/bin/etcd';

/** Polls `url` until etcd answers healthy, or fails after `timeoutMs`. */
export async function waitHealthy(member: EtcdMember, timeoutMs = 30_000, tls?: { ca: string }): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (member.process === undefined || member.process.exitCode !== null) {
      throw new Error(`etcd ${member.name} exited before it was healthy:\n${member.log}`);
    }
    if (tls === undefined) {
      try {
        const res = await fetch(`${member.clientUrl}/health`, { signal: AbortSignal.timeout(1000) });
        const body = (await res.json()) as { health?: string };
        if (body.health === 'true') return;
      } catch {
        // not listening yet
      }
    } else if (/ready to serve client requests/.test(member.log)) {
      return;
    }
    if (Date.now() > deadline) throw new Error(`etcd ${member.name} not healthy within ${timeoutMs} ms:\n${member.log}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Starts an etcd cluster of `size` members on free loopback ports with temp data dirs,
 * and waits until every member answers healthy.
 */
export async function startEtcdCluster(size = 1, options: { tls?: EtcdServerTLS; healthCA?: string } = {}): Promise<EtcdCluster> {
  const root = await mkdtemp(join(tmpdir(), 'systemge-etcd-'));
  const scheme = options.tls === undefined ? 'http' : 'https';
  const specs: { name: string; clientPort: number; peerPort: number }[] = [];
  for (let i = 0; i < size; i += 1) specs.push({ name: `etcd${i}`, clientPort: await freePort(), peerPort: await freePort() });
  const initialCluster = specs.map((s) => `${s.name}=http://127.0.0.1:${s.peerPort}`).join(',');
  const members: EtcdMember[] = specs.map((spec) => {
    const clientUrl = `${scheme}://127.0.0.1:${spec.clientPort}`;
    const peerUrl = `http://127.0.0.1:${spec.peerPort}`;
    const args = [
      '--name',
      spec.name,
      '--data-dir',
      join(root, spec.name),
      '--listen-client-urls',
      clientUrl,
      '--advertise-client-urls',
      clientUrl,
      '--listen-peer-urls',
      peerUrl,
      '--initial-advertise-peer-urls',
      peerUrl,
      '--initial-cluster',
      initialCluster,
      '--initial-cluster-token',
      root,
      '--initial-cluster-state',
      'new',
      ...(options.tls === undefined ? [] : ['--cert-file', options.tls.certFile, '--key-file', options.tls.keyFile]),
      ...(options.tls?.caFile === undefined ? [] : ['--trusted-ca-file', options.tls.caFile, '--client-cert-auth']),
    ];
    const member: EtcdMember = {
      name: spec.name,
      clientUrl,
      peerUrl,
      process: undefined,
      log: '',
      async kill() {
        const child = member.process;
        if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      },
      async restart() {
        await member.kill();
        launch();
        await waitHealthy(member, 30_000, options.healthCA === undefined ? undefined : { ca: options.healthCA });
      },
    };
    const launch = (): void => {
      member.log = '';
      const child = spawn(ETCD, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      const append = (chunk: Buffer): void => {
        member.log = (member.log + chunk.toString('utf8')).slice(-20_000);
      };
      child.stdout.on('data', append);
      child.stderr.on('data', append);
      member.process = child;
    };
    launch();
    return member;
  });
  const remove = async (): Promise<void> => {
    await Promise.all(members.map((m) => m.kill()));
    await rm(root, { recursive: true, force: true });
  };
  try {
    await Promise.all(members.map((m) => waitHealthy(m, 30_000, options.healthCA === undefined ? undefined : { ca: options.healthCA })));
  } catch (error) {
    await remove();
    throw error;
  }
  return { members, endpoints: members.map((m) => m.clientUrl), remove };
}
