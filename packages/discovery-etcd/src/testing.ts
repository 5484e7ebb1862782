/**
 * A real etcd for tests: started from its binary on free loopback ports with temp data dirs, one
 * member or a cluster, killed and restarted as a test needs. Imported as
 * `@systemge/discovery-etcd/testing`; the package's main entry does not load it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** TLS files for etcd's client port. */
export interface TestEtcdTLS {
  /** The server certificate, PEM file; it should name `127.0.0.1`. */
  certFile: string;
  keyFile: string;
  /** With it, etcd asks clients for a certificate this CA signed (`--client-cert-auth`). */
  caFile?: string;
}

export interface StartEtcdOptions {
  /** Cluster members, each its own process. Default 1. */
  members?: number;
  /** The client port of a one-member etcd (e.g. a port a node was told to dial before etcd ran). Default a free port. */
  clientPort?: number;
  /** Serve clients over HTTPS. Members talk to each other over plain HTTP on loopback. */
  tls?: TestEtcdTLS;
  /** How long each member may take to become ready, ms. Default 30000. */
  timeoutMs?: number;
  /** The etcd binary. Default `etcdBinary()`. */
  binary?: string;
}

/** One etcd process. */
export interface TestEtcdMember {
  readonly name: string;
  /** `http://127.0.0.1:<port>` (`https:` with `tls`). */
  readonly clientUrl: string;
  readonly peerUrl: string;
  /** The current process (a new one after `restart()`). */
  readonly process: ChildProcess;
  /** The last 20000 characters of the current process's output, for failure messages. */
  readonly log: string;
  /** SIGKILLs the process and waits for its exit; does nothing when it is not running. */
  kill(): Promise<void>;
  /** Kills the process if it runs, starts it again on the same ports and data dir, and resolves once it is ready. */
  restart(): Promise<void>;
}

export interface TestEtcd {
  readonly members: readonly TestEtcdMember[];
  /** Every member's client URL, for `etcdDiscovery({ endpoints })`. */
  readonly endpoints: string[];
  /** The first member's client URL. */
  readonly endpoint: string;
  /** The keys under `prefix`, sorted, read through the first member's v3 JSON gateway (plain HTTP only). */
  keys(prefix: string): Promise<string[]>;
  /** SIGKILLs every member (the data dirs stay, for `restart()`). */
  kill(): Promise<void>;
  /** Kills every member and removes the data dirs. */
  remove(): Promise<void>;
}

/** The etcd binary `startEtcd` runs by default: `$SYSTEMGE_ETCD`, else `etcd` on `PATH`, else `/usr/bin/etcd`; undefined when none exists. */
export function etcdBinary(): string | undefined {
  const named = process.env['SYSTEMGE_ETCD'];
  if (named !== undefined && named !== '') return named;
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir !== '' && existsSync(join(dir, 'etcd'))) return join(dir, 'etcd');
  }
  return existsSync('/usr/bin/etcd') ? '/usr/bin/etcd' : undefined;
}

/** A port that was free a moment ago on 127.0.0.1 (etcd takes its ports on the command line, not port 0). */
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

/** Resolves once `member` is ready: its `/health` says so (HTTP), or its log says it serves clients (HTTPS); rejects when it exits first or after `timeoutMs`. */
async function ready(member: TestEtcdMember, tls: boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (member.process.exitCode !== null || member.process.signalCode !== null) {
      throw new Error(`etcd ${member.name} exited before it was ready:\n${member.log}`);
    }
    if (tls) {
      if (/ready to serve client requests/.test(member.log)) return;
    } else {
      try {
        const res = await fetch(`${member.clientUrl}/health`, { signal: AbortSignal.timeout(1000) });
        if (((await res.json()) as { health?: string }).health === 'true') return;
      } catch {
        // not listening yet
      }
    }
    if (Date.now() > deadline) throw new Error(`etcd ${member.name} not ready within ${timeoutMs} ms:\n${member.log}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Starts etcd: `members` processes on free loopback ports (or `clientPort`) with temp data dirs,
 * and resolves once every member is ready. Rejects, having removed what it started, when the
 * binary is missing, a member exits, or one is not ready within `timeoutMs`.
 */
export async function startEtcd(options: StartEtcdOptions = {}): Promise<TestEtcd> {
  const size = options.members ?? 1;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const binary = options.binary ?? etcdBinary();
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`members is ${size}; give a whole number from 1`);
  if (options.clientPort !== undefined && size !== 1) throw new RangeError(`clientPort is for one member; members is ${size}`);
  if (binary === undefined) throw new Error('no etcd binary: none on PATH nor at /usr/bin/etcd (set SYSTEMGE_ETCD to its path)');
  const tls = options.tls;
  const root = await mkdtemp(join(tmpdir(), 'systemge-etcd-'));
  const scheme = tls === undefined ? 'http' : 'https';
  const specs: { name: string; clientPort: number; peerPort: number }[] = [];
  for (let i = 0; i < size; i += 1) {
    specs.push({ name: `etcd${i}`, clientPort: options.clientPort ?? (await freePort()), peerPort: await freePort() });
  }
  const initialCluster = specs.map((s) => `${s.name}=http://127.0.0.1:${s.peerPort}`).join(',');

  const members = specs.map((spec): TestEtcdMember => {
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
      ...(tls === undefined ? [] : ['--cert-file', tls.certFile, '--key-file', tls.keyFile]),
      ...(tls?.caFile === undefined ? [] : ['--trusted-ca-file', tls.caFile, '--client-cert-auth']),
    ];
    let child: ChildProcess;
    let log = '';
    const launch = (): void => {
      log = '';
      child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      const append = (chunk: Buffer): void => {
        log = (log + chunk.toString('utf8')).slice(-20_000);
      };
      child.stdout?.on('data', append);
      child.stderr?.on('data', append);
      // A missing binary is reported as an exit with its log, not as an unhandled error.
      child.once('error', (error) => {
        log += `\n${error.message}`;
      });
    };
    const member: TestEtcdMember = {
      name: spec.name,
      clientUrl,
      peerUrl,
      get process() {
        return child;
      },
      get log() {
        return log;
      },
      async kill() {
        const running = child;
        if (running.exitCode !== null || running.signalCode !== null || running.pid === undefined) return;
        const exited = new Promise((resolve) => running.once('exit', resolve));
        running.kill('SIGKILL');
        await exited;
      },
      async restart() {
        await member.kill();
        launch();
        await ready(member, tls !== undefined, timeoutMs);
      },
    };
    launch();
    return member;
  });

  const kill = async (): Promise<void> => {
    await Promise.all(members.map((m) => m.kill()));
  };
  const remove = async (): Promise<void> => {
    await kill();
    await rm(root, { recursive: true, force: true });
  };
  try {
    await Promise.all(members.map((m) => ready(m, tls !== undefined, timeoutMs)));
  } catch (error) {
    await remove();
    throw error;
  }
  const endpoints = members.map((m) => m.clientUrl);
  const endpoint = endpoints[0] as string;
  return {
    members,
    endpoints,
    endpoint,
    async keys(prefix) {
      // range_end: the prefix with its last byte incremented; for the empty prefix, every key from "\0".
      const key = Buffer.from(prefix === '' ? '\0' : prefix, 'utf8');
      const end = Buffer.from(key);
      if (prefix !== '') end[end.length - 1] = (end[end.length - 1] as number) + 1;
      const res = await fetch(`${endpoint}/v3/kv/range`, {
        method: 'POST',
        body: JSON.stringify({ key: key.toString('base64'), range_end: end.toString('base64'), keys_only: true }),
      });
      const body = (await res.json()) as { kvs?: { key: string }[] };
      return (body.kvs ?? []).map((kv) => Buffer.from(kv.key, 'base64').toString('utf8')).sort();
    },
    kill,
    remove,
  };
}
