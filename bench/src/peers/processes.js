/**
 * Child processes of the peers scenario: forks `child.js` for one role of one system and asks it
 * questions over IPC in the peers' convention. The plumbing (IPC, deadlines, ending children,
 * SIGKILL of every child still running when the parent exits) is ../children.js.
 */
import { fileURLToPath } from 'node:url';
import { ask as askChild, cpuProfileArgv, spawnChild } from '../children.js';

const CHILD = fileURLToPath(new URL('./child.js', import.meta.url));

// Interrupted: exit normally so the 'exit' handlers (in ../children.js and nats-server.js) end every child.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => process.exit(130));
}

/**
 * Forks `child.js <role> <system> <json config>`, labelled `<system> <role>`. BENCH_CPU_PROF=<system>
 * (or `all`) writes a .cpuprofile of every child of that system to results/tmp/. BENCH_NODE_ARGS adds
 * Node options to every child (e.g. `--trace-gc`).
 */
export function spawnPeer(role, system, config, { exposeGc = false } = {}) {
  const execArgv = [];
  if (exposeGc) execArgv.push('--expose-gc');
  if (process.env.BENCH_NODE_ARGS) execArgv.push(...process.env.BENCH_NODE_ARGS.split(' '));
  const prof = process.env.BENCH_CPU_PROF;
  if (prof !== undefined && (prof === 'all' || prof === system)) execArgv.push(...cpuProfileArgv());
  return spawnChild(CHILD, [role, system, JSON.stringify(config)], { execArgv, label: `${system} ${role}` });
}

/** Sends `{ type, ...body }` and resolves with the reply of type `reply`. */
export function ask(child, type, body = {}, reply = `${type}:ok`, timeoutMs = 10_000) {
  return askChild(child, { type, ...body }, reply, timeoutMs);
}
