// Runs every command the READMEs show, from the directory they say (or imply) to run it in, the
// way a user runs it: no loader in NODE_OPTIONS, nothing built beforehand. Long-running commands
// (the demo) are started under a pseudo-terminal, checked for their URLs, and stopped with Ctrl+C.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { readmeCommands, root } from '../list.mjs';

interface Found {
  readme: string;
  command: string;
}

type Spec =
  | { kind: 'exits'; cwd: string; output: RegExp; timeoutMs?: number }
  | { kind: 'serves'; cwd: string; ready: RegExp; urls: { url: string; body: RegExp }[]; during?: string }
  | { kind: 'skip'; reason: string };

const SELF = 'the test run itself; this test is part of it';
const INSTALL = 'installing again inside the test run would replace the node_modules it runs from; .ci/run runs it on a clean clone';
const CI_CHECK = '.ci/run runs it on a clean clone before the tests';
const BENCH = "a benchmark of minutes on an otherwise idle machine; its smoke run (`node src/run.js --quick`) is the bench package's test";
const MESH =
  'needs etcd and starts seven processes for a minute on two cores; its own test (`pnpm --filter @systemge/example-mesh test`) runs the same start.js against a real etcd and stops it';
const CHAT_URLS = [
  { url: 'http://127.0.0.1:8081/', body: /Systemge chat/ },
  { url: 'http://127.0.0.1:8082/', body: /Systemge chat/ },
  // The dashboard's real page (its UI bundled from sources by start.js), not the "UI is not built" one.
  { url: 'http://127.0.0.1:7070/', body: /<script[^>]+src="\/assets\/app-[^"]+\.js"/ },
];
const CHAT_READY = /dashboard: http:\/\/127\.0\.0\.1:7070/;
const ANNOUNCE =
  'pnpm --filter @systemge/example-chat exec systemge command chat-1 chat-announce hello everyone --dashboard http://127.0.0.1:7070';

/** What to do with each command, by `<readme>\t<command>`. A README command missing here fails the first test. */
const SPECS: Record<string, Spec> = {
  'README.md\tnpx -y pnpm@12.4.2 install --frozen-lockfile && npx -y pnpm@12.4.2 demo': {
    kind: 'serves',
    cwd: '.',
    ready: CHAT_READY,
    urls: CHAT_URLS,
    during: ANNOUNCE,
  },
  'README.md\tnpx -y pnpm@12.4.2 install --frozen-lockfile && npx -y pnpm@12.4.2 test': { kind: 'skip', reason: SELF },
  'README.md\tpnpm --filter @systemge/example-ping-pong start': {
    kind: 'exits',
    cwd: '.',
    output: /sync 3: "pong #5 to ping: sync 3"[\s\S]*both processes stopped/,
  },
  'README.md\tpnpm --filter @systemge/example-scatter-gather start': {
    kind: 'exits',
    cwd: '.',
    output: /request 3: first answer from named workers[\s\S]*all processes stopped/,
    timeoutMs: 60_000,
  },
  'README.md\tpnpm --filter @systemge/example-mesh start': { kind: 'skip', reason: MESH },
  'examples/mesh/README.md\tpnpm --filter @systemge/example-mesh start': { kind: 'skip', reason: MESH },
  'README.md\tpnpm demo': { kind: 'serves', cwd: '.', ready: CHAT_READY, urls: CHAT_URLS },
  'README.md\tpnpm bench:peers': { kind: 'skip', reason: BENCH },
  'README.md\tpnpm lint': { kind: 'skip', reason: CI_CHECK },
  'README.md\tpnpm typecheck': { kind: 'skip', reason: CI_CHECK },
  'README.md\tpnpm format': {
    kind: 'skip',
    reason: 'rewrites the tree; `pnpm lint`, which .ci/run runs, checks that nothing is left for it to do',
  },
  'bench/README.md\tnode --test test/': { kind: 'skip', reason: "part of the bench package's test script, which the test run runs" },
  'examples/chat/README.md\tpnpm --filter @systemge/example-chat start': {
    kind: 'serves',
    cwd: 'examples/chat',
    ready: CHAT_READY,
    urls: CHAT_URLS,
  },
  'examples/chat/README.md\tpnpm install': { kind: 'skip', reason: INSTALL },
  'examples/chat/README.md\tpnpm start': { kind: 'serves', cwd: 'examples/chat', ready: CHAT_READY, urls: CHAT_URLS },
  // Run while the demo serves (see `during` above); from the README's "anywhere in the repository": here, the bench directory.
  [`examples/chat/README.md\t${ANNOUNCE}`]: {
    kind: 'skip',
    reason: 'runs while the demo serves, from another directory (see the first README command)',
  },
  'examples/ping-pong/README.md\tpnpm --filter @systemge/example-ping-pong start': {
    kind: 'exits',
    cwd: 'examples/ping-pong',
    output: /pong is listening on 127\.0\.0\.1:\d+[\s\S]*sent 5 async pings[\s\S]*both processes stopped/,
  },
  'examples/scatter-gather/README.md\tpnpm --filter @systemge/example-scatter-gather start': {
    kind: 'exits',
    cwd: 'examples/scatter-gather',
    output: /request 3: first answer from named workers[\s\S]*all processes stopped/,
    timeoutMs: 60_000,
  },
  'bench/README.md\tpnpm -r build': {
    kind: 'skip',
    reason:
      'builds every package, minutes on two cores; the release checks (`pnpm lint:packages`, `pnpm test:consumer`) run the same build',
  },
  'bench/README.md\tpnpm --filter @systemge/bench bench': { kind: 'skip', reason: BENCH },
  'bench/README.md\tnode src/run.js --quick': {
    kind: 'skip',
    reason: "the bench package's own test (`pnpm --filter @systemge/bench test`) is this smoke run",
  },
  'bench/README.md\tpnpm bench:peers': { kind: 'skip', reason: BENCH },
  'bench/README.md\tBENCH_CPU_PROF=receiver node src/run.js --only tcp-throughput --runs 1': { kind: 'skip', reason: BENCH },
  'bench/README.md\tnode src/profile-summary.js results/tmp/CPU.*.cpuprofile': {
    kind: 'skip',
    reason: 'reads the profiles of the CPU-profiled benchmark above',
  },
};

const found: Found[] = readmeCommands();
const key = (f: Found): string => `${f.readme}\t${f.command}`;
const packageManager = (JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { packageManager: string }).packageManager;

/** The environment of a user's shell: without the source loader vitest gives the tests' own children. */
function userEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env['NODE_OPTIONS'];
  delete env['VITEST'];
  delete env['VITEST_WORKER_ID'];
  delete env['VITEST_POOL_ID'];
  return env;
}

/** `npx -y pnpm@<version> …` is the README's way to get the pnpm on PATH here; the rest of the line as is. */
function local(command: string): string {
  const pinned = /npx -y (pnpm@[\d.]+) /g;
  for (const match of command.matchAll(pinned)) expect(match[1], 'the README pins the packageManager version').toBe(packageManager);
  return command.replace(pinned, 'pnpm ');
}

const running = new Set<ChildProcess>();
afterAll(() => {
  for (const child of running) if (child.exitCode === null && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
});

/** Starts `command` in a shell in its own process group; `viaTerminal` puts it behind a pseudo-terminal (`script`). */
function start(command: string, cwd: string, viaTerminal: boolean) {
  const child = viaTerminal
    ? spawn('script', ['-qefc', command, '/dev/null'], {
        cwd: join(root, cwd),
        env: { ...userEnv(), TERM: 'dumb' },
        detached: true,
        stdio: ['pipe', 'pipe', 'pipe'],
      })
    : spawn('sh', ['-c', command], { cwd: join(root, cwd), env: userEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let output = '';
  const waiters = new Set<() => void>();
  const collect = (chunk: Buffer): void => {
    output += chunk.toString();
    for (const w of waiters) w();
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  exited.then(() => running.delete(child));
  return {
    child,
    exited,
    output: () => output,
    waitFor(pattern: RegExp, timeoutMs: number): Promise<void> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no ${pattern} within ${timeoutMs} ms from \`${command}\` in ${cwd}:\n${output}`));
        }, timeoutMs);
        const check = (): void => {
          if (!pattern.test(output)) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
        check();
        void exited.then(() =>
          setTimeout(() => {
            if (!pattern.test(output)) {
              clearTimeout(timer);
              waiters.delete(check);
              reject(new Error(`\`${command}\` in ${cwd} exited before printing ${pattern}:\n${output}`));
            }
          }, 50),
        );
      });
    },
  };
}

async function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

describe('README commands', () => {
  it('finds the commands, and every one of them is run here or skipped for a stated reason', () => {
    expect(found.length).toBeGreaterThanOrEqual(10);
    expect(found.map(key).filter((k) => SPECS[k] === undefined)).toEqual([]);
    // A command gone from its README is gone from here too.
    expect(Object.keys(SPECS).filter((k) => !found.some((f) => key(f) === k))).toEqual([]);
  });

  for (const f of found) {
    const spec = SPECS[key(f)];
    if (spec === undefined) continue;
    if (spec.kind === 'skip') {
      it.skip(`${f.readme}: ${f.command} (${spec.reason})`, () => {});
      continue;
    }
    // Split `install && run`: only the part after the install runs here (see INSTALL).
    const parts = f.command.split(' && ');
    const runnable = local(parts.filter((p) => !/ install( |$)/.test(p)).join(' && '));

    if (spec.kind === 'exits') {
      it(`${f.readme}: ${f.command} (from ${spec.cwd})`, async () => {
        const run = start(runnable, spec.cwd, false);
        const code = await withDeadline(run.exited, spec.timeoutMs ?? 30_000, runnable);
        expect(code, run.output()).toBe(0);
        expect(run.output()).toMatch(spec.output);
      });
      continue;
    }

    it(`${f.readme}: ${f.command} (from ${spec.cwd}) serves its URLs and stops cleanly on Ctrl+C`, async () => {
      const run = start(runnable, spec.cwd, true);
      await run.waitFor(spec.ready, 60_000);
      for (const { url, body } of spec.urls) {
        const response = await fetch(url);
        expect(response.status, url).toBe(200);
        expect(await response.text(), url).toMatch(body);
      }
      if (spec.during !== undefined) {
        // "from another terminal anywhere in the repository": here, bench/.
        const during = start(spec.during, 'bench', false);
        expect(await withDeadline(during.exited, 30_000, spec.during), during.output()).toBe(0);
        expect(during.output()).toMatch(/announced to \d+ local clients/);
      }
      run.child.stdin!.write('\u0003');
      const code = await withDeadline(run.exited, 15_000, `${runnable} after Ctrl+C`);
      expect(run.output()).toContain('systemge: stopped');
      expect(run.output()).not.toMatch(/ELIFECYCLE|ERR_PNPM/);
      expect(code, run.output()).toBe(0);
    });
  }

  it('README.md: the "Two nodes, one request" snippet prints the answer and ends', async () => {
    const readme = await readFile(join(root, 'README.md'), 'utf8');
    const snippet = /## Two nodes, one request\s+```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(snippet).toBeDefined();
    const dir = fileURLToPath(new URL(`../test-artifacts/snippet-${process.pid}/`, import.meta.url));
    await mkdir(dir, { recursive: true });
    try {
      await writeFile(join(dir, 'snippet.ts'), snippet!);
      const register = join(root, 'scripts', 'source', 'register.mjs');
      const run = start(
        `node --import ${JSON.stringify(register)} snippet.ts`,
        join('scripts', 'readme-commands', 'test-artifacts', `snippet-${process.pid}`),
        false,
      );
      // The script ends by itself: both nodes stopped, nothing left on the event loop.
      const code = await withDeadline(run.exited, 30_000, 'the README snippet');
      expect(code, run.output()).toBe(0);
      // An object with a real Date came back: no JSON.stringify/parse anywhere.
      expect(run.output()).toMatch(/\{ total: 10, at: \d{4}-\d\d-\d\dT[\d:.]+Z \}/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
