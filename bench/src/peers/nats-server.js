/**
 * A local nats-server for the NATS variants: found on PATH (or NATS_SERVER), started on a free
 * port picked by the OS, bound to 127.0.0.1, ended by `stop()`. Never installed by the bench.
 */
import { execFile, spawn } from 'node:child_process';
import net from 'node:net';
import { promisify } from 'node:util';

const run = promisify(execFile);
const BINARY = process.env.NATS_SERVER ?? 'nats-server';

/** `{ version }` when nats-server can run here, `{ missing: reason }` when not. */
export async function natsServerAvailable() {
  try {
    const { stdout } = await run(BINARY, ['--version'], { timeout: 5000 });
    return { version: stdout.trim().replace(/^nats-server:\s*/, '') };
  } catch {
    return { missing: `nats-server not found (install it: apt-get install -y nats-server, or set NATS_SERVER)` };
  }
}

/** A port the OS says is free now (listen on 0, close). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts nats-server; resolves with `{ url, stop() }` once it accepts connections. */
export async function startNatsServer(timeoutMs = 10_000) {
  const port = await freePort();
  const child = spawn(BINARY, ['-a', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    if (stderr.length < 4096) stderr += d;
  });
  const kill = () => child.kill('SIGKILL');
  process.on('exit', kill);
  const stop = () =>
    new Promise((resolve) => {
      process.off('exit', kill);
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const timer = setTimeout(kill, 3000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill('SIGTERM');
    });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nats-server exited (${child.exitCode}): ${stderr.trim()}`);
    if (await canConnect(port)) return { url: `nats://127.0.0.1:${port}`, port, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`nats-server did not accept connections within ${timeoutMs} ms: ${stderr.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

function canConnect(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
