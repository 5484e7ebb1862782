/**
 * A real dnsmasq for tests: started from its binary on a free loopback UDP port with the records a
 * test gives it, re-read or restarted as the test changes them. Imported as
 * `@systemge/discovery-dns/testing`; the package's main entry does not load it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Resolver } from 'node:dns/promises';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** The dnsmasq binary `startDnsmasq` runs by default: `$SYSTEMGE_DNSMASQ`, else `dnsmasq` on `PATH`, else `/usr/sbin/dnsmasq`; undefined when none exists. */
export function dnsmasqBinary(): string | undefined {
  const named = process.env['SYSTEMGE_DNSMASQ'];
  if (named !== undefined && named !== '') return named;
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir !== '' && existsSync(join(dir, 'dnsmasq'))) return join(dir, 'dnsmasq');
  }
  return existsSync('/usr/sbin/dnsmasq') ? '/usr/sbin/dnsmasq' : undefined;
}

/** A UDP port that was free a moment ago on 127.0.0.1. */
function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

/** A dnsmasq serving `config` lines (`host-record=`, `srv-host=`…) and `hosts` (hosts-file lines) on a loopback port. */
export interface TestDNSServer {
  /** Its UDP port on 127.0.0.1. */
  readonly port: number;
  /** `127.0.0.1:<port>`, for `dnsDiscovery({ servers: [server] })`. */
  readonly server: string;
  /** Replaces the hosts-file records and makes dnsmasq re-read them (SIGHUP). */
  setHosts(lines: readonly string[]): Promise<void>;
  /** Restarts dnsmasq with new config lines on the same port. */
  restart(config: readonly string[]): Promise<void>;
  /** SIGKILLs dnsmasq (the port then answers nothing). */
  kill(): Promise<void>;
  /** Kills dnsmasq and removes its files. */
  remove(): Promise<void>;
}

export interface StartDnsmasqOptions {
  /** How long dnsmasq may take to answer, ms. Default 15000. */
  timeoutMs?: number;
  /** The dnsmasq binary. Default `dnsmasqBinary()`. */
  binary?: string;
}

/**
 * Starts dnsmasq on a free 127.0.0.1 UDP port with no upstream: it answers from `config` lines
 * (dnsmasq.conf syntax) and `hosts` lines (hosts-file syntax) only, and names under `.test` that no
 * record lists are NXDOMAIN. Resolves once it answers a query; rejects, having removed its files,
 * when the binary is missing or it does not answer within `timeoutMs`.
 */
export async function startDnsmasq(
  config: readonly string[],
  hosts: readonly string[] = [],
  options: StartDnsmasqOptions = {},
): Promise<TestDNSServer> {
  const binary = options.binary ?? dnsmasqBinary();
  const timeoutMs = options.timeoutMs ?? 15_000;
  if (binary === undefined) throw new Error('no dnsmasq binary: none on PATH nor at /usr/sbin/dnsmasq (set SYSTEMGE_DNSMASQ to its path)');
  const dir = await mkdtemp(join(tmpdir(), 'systemge-dnsmasq-'));
  // dnsmasq drops to an unprivileged user: it must still read the hosts file on SIGHUP.
  await chmod(dir, 0o755);
  const confFile = join(dir, 'dnsmasq.conf');
  const hostsFile = join(dir, 'hosts');
  const writeHosts = async (lines: readonly string[]) => {
    await writeFile(hostsFile, lines.map((l) => `${l}\n`).join(''), { mode: 0o644 });
    await chmod(hostsFile, 0o644);
  };
  await writeHosts(hosts);
  let port = await freeUdpPort();
  let child: ChildProcess | undefined;
  let log = '';

  const launch = async (lines: readonly string[]): Promise<void> => {
    // `local=/test/`: names under .test that no record lists are NXDOMAIN (not REFUSED for want of an upstream).
    await writeFile(confFile, ['local=/test/', ...lines].map((l) => `${l}\n`).join(''), { mode: 0o644 });
    log = '';
    const proc = spawn(
      binary,
      [
        '--no-daemon',
        `--port=${port}`,
        '--listen-address=127.0.0.1',
        '--bind-interfaces',
        '--no-resolv',
        '--no-hosts',
        `--addn-hosts=${hostsFile}`,
        `--conf-file=${confFile}`,
        `--pid-file=${join(dir, 'pid')}`,
        '--log-facility=-',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    proc.stdout?.on('data', (c: Buffer) => {
      log += c.toString();
    });
    proc.stderr?.on('data', (c: Buffer) => {
      log += c.toString();
    });
    // A binary that cannot be started is reported with the log, not as an unhandled error.
    proc.once('error', (error) => {
      log += `\n${error.message}`;
    });
    child = proc;
    await waitAnswering(proc);
  };

  /** Polls until dnsmasq answers a query (any answer, NXDOMAIN included), with a deadline. */
  const waitAnswering = async (proc: ChildProcess): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    const resolver = new Resolver({ timeout: 200, tries: 1 });
    resolver.setServers([`127.0.0.1:${port}`]);
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`dnsmasq exited (${proc.exitCode}):\n${log}`);
      try {
        await resolver.resolve4('readiness.probe.test');
        return;
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === 'ENOTFOUND' || code === 'ENODATA' || code === 'EREFUSED') return;
      }
      if (Date.now() > deadline) throw new Error(`dnsmasq not answering on ${port} within ${timeoutMs} ms:\n${log}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  const kill = async (): Promise<void> => {
    const proc = child;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null || proc.pid === undefined) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGKILL');
    await exited;
  };

  try {
    try {
      await launch(config);
    } catch (error) {
      // The port was free a moment ago; another process may have taken it since.
      if (!/Address already in use/.test(log)) throw error;
      port = await freeUdpPort();
      await launch(config);
    }
  } catch (error) {
    await kill();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }

  return {
    get port() {
      return port;
    },
    get server() {
      return `127.0.0.1:${port}`;
    },
    async setHosts(lines) {
      await writeHosts(lines);
      child?.kill('SIGHUP');
    },
    async restart(lines) {
      await kill();
      await launch(lines);
    },
    kill,
    async remove() {
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
