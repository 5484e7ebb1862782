import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/*
 * A dnsmasq on a loopback UDP port for the CLI's DNS discovery test (Debian's `dnsmasq-base`;
 * `SYSTEMGE_DNSMASQ` names another binary). It serves the A records of a hosts file, which
 * `setHosts` rewrites and makes it re-read.
 */

const DNSMASQ = process.env.SYSTEMGE_DNSMASQ ?? '/usr/sbin/dnsmasq';

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

export interface TestDNS {
  /** `127.0.0.1:<port>`, for a `servers` list. */
  readonly server: string;
  /** Replaces the hosts-file lines (`127.0.0.2 mesh.test`) and makes dnsmasq re-read them. */
  setHosts(lines: readonly string[]): Promise<void>;
  remove(): Promise<void>;
}

export async function startDnsmasq(hosts: readonly string[]): Promise<TestDNS> {
  const dir = await mkdtemp(join(tmpdir(), 'systemge-cli-dnsmasq-'));
  // dnsmasq drops to an unprivileged user: it must still read the hosts file on SIGHUP.
  await chmod(dir, 0o755);
  const hostsFile = join(dir, 'hosts');
  const writeHosts = async (lines: readonly string[]): Promise<void> => {
    await writeFile(hostsFile, lines.map((l) => `${l}\n`).join(''), { mode: 0o644 });
    await chmod(hostsFile, 0o644);
  };
  await writeHosts(hosts);
  const port = await freeUdpPort();
  let log = '';
  const child: ChildProcess = spawn(
    DNSMASQ,
    [
      '--no-daemon',
      `--port=${port}`,
      '--listen-address=127.0.0.1',
      '--bind-interfaces',
      '--no-resolv',
      '--no-hosts',
      // Names under .test that no record lists are NXDOMAIN (not REFUSED for want of an upstream).
      '--local=/test/',
      `--addn-hosts=${hostsFile}`,
      `--pid-file=${join(dir, 'pid')}`,
      '--log-facility=-',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.on('data', (c: Buffer) => {
    log += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    log += c.toString();
  });
  const remove = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };

  // Polls until it answers a query (NXDOMAIN counts), with a deadline.
  const resolver = new Resolver({ timeout: 200, tries: 1 });
  resolver.setServers([`127.0.0.1:${port}`]);
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) {
      await remove();
      throw new Error(`dnsmasq exited (${child.exitCode}):\n${log}`);
    }
    try {
      await resolver.resolve4('readiness.probe.test');
      break;
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'ENOTFOUND' || code === 'ENODATA') break;
    }
    if (Date.now() > deadline) {
      await remove();
      throw new Error(`dnsmasq not answering on ${port} within 15 s:\n${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  return {
    server: `127.0.0.1:${port}`,
    async setHosts(lines) {
      await writeHosts(lines);
      child.kill('SIGHUP');
    },
    remove,
  };
}
