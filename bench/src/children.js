/**
 * Child processes of the scenarios (tcp-throughput, metrics-overhead, peers, slowloris,
 * websocket-fanout): fork with an IPC channel, await one IPC message with a deadline, ask a
 * question over IPC (the CPU time among others), end a child for sure, and the open-files limit
 * a child gets. Every child forked here is SIGKILLed if the bench exits while it still runs.
 */
import { execFileSync, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const PROFILE_DIR = fileURLToPath(new URL('../results/tmp/', import.meta.url));

const live = new Set();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/**
 * Forks `script` with `args`. `fdLimit` raises the child's soft open-files limit with the shell's
 * `ulimit -n` first (see `openFilesLimit`); `execArgv` is passed to the child's node. `label`
 * names the child in the errors of `expectMessage` when it is given no `what`.
 */
export function spawnChild(script, args, { fdLimit, execArgv = [], label } = {}) {
  const options = { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv };
  if (fdLimit !== undefined) {
    // fork runs `execPath ...execArgv script ...args`: the shell sets the limit and execs node.
    options.execPath = '/bin/sh';
    options.execArgv = ['-c', `ulimit -n ${fdLimit} && exec "$0" "$@"`, process.execPath, ...execArgv];
  }
  const child = fork(script, args, options);
  if (label !== undefined) child.label = label;
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** Node flags that make a child write a .cpuprofile to results/tmp/ when it ends (see `stopChild`). */
export function cpuProfileArgv() {
  return ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`];
}

/**
 * Resolves with the first IPC message of `type`; rejects on an `error` message, early exit or
 * timeout. `what` names the child in the error (default: its `label`).
 */
export function expectMessage(child, type, timeoutMs, what = child.label) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`${what}: no ${type} within ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (msg) => {
      if (msg.type === type) finish(undefined, msg);
      else if (msg.type === 'error') finish(new Error(`${what}: ${msg.message}`));
    };
    const onExit = (code, signal) => finish(new Error(`${what} exited early (${signal ?? code})`));
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

/**
 * Sends `request` (a message, or a type for `{ type }`) and awaits the answer `{ type: answer }`.
 * The answer is awaited before the request goes out, so a fast reply is not missed.
 */
export function ask(child, request, answer, timeoutMs, what = child.label) {
  const reply = expectMessage(child, answer, timeoutMs, what);
  child.send(typeof request === 'string' ? { type: request } : request);
  return reply;
}

/** The child's CPU time so far: asks `cpu?`, resolves with its `{ type: 'cpu', micros }` within 5 s. */
export function cpuTime(child, what = child.label) {
  return ask(child, 'cpu?', 'cpu', 5000, what);
}

/**
 * A promise that rejects when any of `children` reports an error or exits within `timeoutMs`
 * (it never resolves), for racing a wait. Its rejection is handled, so it may go unawaited.
 */
export function failureOf(children, timeoutMs, what) {
  const p = Promise.race(children.map((c) => expectMessage(c, 'never', timeoutMs, what ?? c.label)));
  p.catch(() => {});
  return p;
}

/**
 * Ends a child: SIGTERM (lets --cpu-prof write its profile), SIGKILL after 3 s. Resolves when it
 * has exited; at once for `undefined` (a child never forked) or one that has already exited.
 */
export function stopChild(child) {
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

/**
 * Runs `body(spawn)`, where `spawn` takes the arguments of `spawnChild`, and ends every child
 * forked through it once `body` settles, also on a failure: one after another, in the order
 * they were forked. Resolves with what `body` resolves with.
 */
export async function withChildren(body) {
  const children = [];
  try {
    return await body((script, args, options) => {
      const child = spawnChild(script, args, options);
      children.push(child);
      return child;
    });
  } finally {
    for (const child of children) await stopChild(child);
  }
}

/** Ends all children given, in parallel. */
export function stopAll(children) {
  return Promise.all(children.map(stopChild));
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The open-files limit to give a child that needs `needed` descriptors: `{ fdLimit, available }`.
 * `fdLimit` is undefined when the soft limit already suffices, else the value to raise it to
 * (at most the hard limit); `available` is what the child will have.
 */
export function openFilesLimit(needed) {
  const read = (flag) => {
    const text = execFileSync('/bin/sh', ['-c', `ulimit ${flag}`], { encoding: 'utf8' }).trim();
    return text === 'unlimited' ? Number.POSITIVE_INFINITY : Number(text);
  };
  const soft = read('-Sn');
  if (soft >= needed) return { fdLimit: undefined, available: soft };
  const hard = read('-Hn');
  const raised = Math.min(hard, needed);
  return { fdLimit: raised, available: raised };
}
