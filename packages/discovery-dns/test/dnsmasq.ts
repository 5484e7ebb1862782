import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Resolver } from 'node:dns/promises';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const DNSMASQ = process.env['SYSTEMGE_DNSMASQ'] ?? '/usr/sbin/dnsmasq';

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

/** A dnsmasq serving `config` lines (host-record=, srv-host=) and `hosts` (A records, hosts-file lines) on a loopback port. */
export interface DNSServer {
  readonly port: number;
  readonly server: string;
  /** Replaces the hosts-file records and makes dnsmasq re-read them (SIGHUP). */
  setHosts(lines: readonly string[]): Promise<void>;
  /** Restarts dnsmasq with new config lines on the same port. */
  restart(config: readonly string[]): Promise<void>;
  /** SIGKILLs dnsmasq (the port then answers nothing). */
  kill(): Promise<void>;
  remove(): Promise<void>;
}

export async function startDnsmasq(config: readonly string[], hosts: readonly string[] = []): Promise<DNSServer> {
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
      DNSMASQ,
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
    child = proc;
    await waitAnswering(proc);
  };

  /** Polls until dnsmasq answers a query (any answer, NXDOMAIN included), with a deadline. */
  const waitAnswering = async (proc: ChildProcess): Promise<void> => {
    const deadline = Date.now() + 15_000;
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
      if (Date.now() > deadline) throw new Error(`dnsmasq not answering on ${port} within 15 s:\n${log}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  const kill = async (): Promise<void> => {
    const proc = child;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGKILL');
    await exited;
  };

  try {
    await launch(config);
  } catch (error) {
    if (!/Address already in use/.test(log)) throw error;
    port = await freeUdpPort();
    await launch(config);
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
