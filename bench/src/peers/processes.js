/**
 * Child processes of the peers scenario: fork with IPC, wait for a message with a deadline,
 * ask a question over IPC, end a child (SIGTERM, then SIGKILL). Every child forked here is
 * killed when the parent exits, also on a failure.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./child.js', import.meta.url));

const live = new Set();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});
// Interrupted: exit normally so the 'exit' handlers (here and in nats-server.js) end every child.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => process.exit(130));
}

/**
 * Forks `child.js <role> <system> <json config>`. BENCH_CPU_PROF=<system> (or `all`) writes a
 * .cpuprofile of every child of that system to results/tmp/.
 */
export function spawnPeer(role, system, config, { exposeGc = false } = {}) {
  const execArgv = [];
  if (exposeGc) execArgv.push('--expose-gc');
  const prof = process.env.BENCH_CPU_PROF;
  if (prof !== undefined && (prof === 'all' || prof === system)) {
    execArgv.push('--cpu-prof', `--cpu-prof-dir=${fileURLToPath(new URL('../../results/tmp/', import.meta.url))}`);
  }
  const child = fork(CHILD, [role, system, JSON.stringify(config)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv,
  });
  child.label = `${system} ${role}`;
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** Resolves with the first IPC message of `type`; rejects on an error message, early exit or timeout. */
export function expect(child, type, timeoutMs) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`${child.label}: no ${type} within ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (msg) => {
      if (msg.type === type) finish(undefined, msg);
      else if (msg.type === 'error') finish(new Error(`${child.label}: ${msg.message}`));
    };
    const onExit = (code, signal) => finish(new Error(`${child.label} exited early (${signal ?? code})`));
    function finish(err, msg) {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(msg);
    }
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/** Sends `{ type, ...body }` and resolves with the reply of type `reply`. */
export function ask(child, type, body = {}, reply = `${type}:ok`, timeoutMs = 10_000) {
  const answer = expect(child, reply, timeoutMs);
  child.send({ type, ...body });
  return answer;
}

/** Ends a child: SIGTERM (lets --cpu-prof write its profile), SIGKILL after 3 s. */
export function stop(child) {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Ends all children given, in parallel. */
export function stopAll(children) {
  return Promise.all(children.map(stop));
}

/** A promise that rejects when any of `children` reports an error or exits, for racing a wait. */
export function failureOf(children, timeoutMs) {
  const p = Promise.race(children.map((c) => expect(c, 'never', timeoutMs)));
  p.catch(() => {});
  return p;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
