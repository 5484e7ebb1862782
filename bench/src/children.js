/**
 * Child processes of the scenarios that run several of them (slowloris, websocket-fanout):
 * fork with an IPC channel, await one IPC message with a deadline, end a child for sure, and
 * the open-files limit a child gets. Every child forked here is SIGKILLed if the bench exits
 * while it still runs.
 */
import { execFileSync, fork } from 'node:child_process';

const live = new Set();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/**
 * Forks `script` with `args`. `fdLimit` raises the child's soft open-files limit with the shell's
 * `ulimit -n` first (see `openFilesLimit`); `execArgv` is passed to the child's node.
 */
export function spawnChild(script, args, { fdLimit, execArgv = [] } = {}) {
  const options = { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv };
  if (fdLimit !== undefined) {
    // fork runs `execPath ...execArgv script ...args`: the shell sets the limit and execs node.
    options.execPath = '/bin/sh';
    options.execArgv = ['-c', `ulimit -n ${fdLimit} && exec "$0" "$@"`, process.execPath, ...execArgv];
  }
  const child = fork(script, args, options);
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** Resolves with the first IPC message of `type`; rejects on an `error` message, early exit or timeout. */
export function expectMessage(child, type, timeoutMs, what) {
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

/** Sends `{ type }` and awaits the answer `{ type: answer }`. */
export function ask(child, type, answer, timeoutMs, what) {
  const reply = expectMessage(child, answer, timeoutMs, what);
  child.send({ type });
  return reply;
}

/** Ends a child: SIGTERM, SIGKILL after 3 s. Resolves when it has exited. */
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
