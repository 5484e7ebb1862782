import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';
import type { PeerProcessOptions } from './fixtures/peer-process.js';

const packageRoot = fileURLToPath(new URL('..', import.meta.url));

/**
 * Child processes run plain `node`, so the package sources and the fixture are transpiled once
 * into node_modules/.peer-process/<hash of the sources>/ (where @systemge/* still resolve).
 * The children thus run exactly the code under test, never a stale dist.
 */
function compiledScript(): string {
  const files = [
    ...readdirSync(join(packageRoot, 'src'))
      .filter((f) => f.endsWith('.ts'))
      .map((f) => join('src', f)),
    join('test', 'fixtures', 'peer-process.ts'),
  ].sort();
  const sources = files.map((f) => readFileSync(join(packageRoot, f), 'utf8'));
  const hash = createHash('sha256');
  files.forEach((f, i) => hash.update(f).update('\0').update(sources[i] as string).update('\0'));
  const base = join(packageRoot, 'node_modules', '.peer-process');
  const out = join(base, hash.digest('hex').slice(0, 16));
  const script = join(out, 'test', 'fixtures', 'peer-process.js');
  if (existsSync(script)) return script;
  // Loaded natively (not through the test runner's transform): it is large.
  const ts = createRequire(import.meta.url)('typescript') as typeof import('typescript');
  const tmp = `${out}.${process.pid}.tmp`;
  files.forEach((f, i) => {
    const { outputText } = ts.transpileModule(sources[i] as string, {
      fileName: f,
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    });
    const target = join(tmp, f.replace(/\.ts$/, '.js'));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, outputText);
  });
  writeFileSync(join(tmp, 'package.json'), '{"type":"module"}\n');
  try {
    renameSync(tmp, out);
  } catch {
    // Another test file compiled the same sources meanwhile.
    rmSync(tmp, { recursive: true, force: true });
  }
  return script;
}

/** One line a child reported on stdout. */
export interface ChildEvent {
  event: string;
  at: number;
  [key: string]: unknown;
}

/** A node running in its own process (see fixtures/peer-process.ts). */
export interface ChildPeer {
  readonly process: ChildProcess;
  readonly events: ChildEvent[];
  /** Resolves with the exit code and signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first event named `event` (already seen or upcoming) that matches, or rejects after `timeoutMs`. */
  waitFor(event: string, timeoutMs?: number, match?: (e: ChildEvent) => boolean): Promise<ChildEvent>;
  stderr(): string;
}

const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});

/** Spawns a node process; resolves once it reports `started` (with its port). */
export async function spawnPeer(options: PeerProcessOptions, startTimeoutMs = 10_000): Promise<ChildPeer & { port: number }> {
  const script = compiledScript();
  const child = spawn(process.execPath, [script, JSON.stringify(options)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const events: ChildEvent[] = [];
  const listeners = new Set<() => void>();
  let err = '';
  let buffered = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line.trim() === '') continue;
      events.push(JSON.parse(line) as ChildEvent);
      for (const l of [...listeners]) l();
    }
  });
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      resolve({ code, signal });
      for (const l of [...listeners]) l();
    });
  });
  const waitFor = (event: string, timeoutMs = 5000, match: (e: ChildEvent) => boolean = () => true): Promise<ChildEvent> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const found = events.find((e) => e.event === event && match(e));
        if (found !== undefined) {
          done();
          resolve(found);
        } else if (child.exitCode !== null || child.signalCode !== null) {
          done();
          reject(new Error(`child ${options.name} exited (${child.exitCode ?? child.signalCode}) before "${event}"; stderr: ${err}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`child ${options.name}: no "${event}" within ${timeoutMs} ms; stderr: ${err}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        listeners.delete(check);
      };
      listeners.add(check);
      check();
    });
  const started = await waitFor('started', startTimeoutMs);
  return { process: child, events, exited, waitFor, stderr: () => err, port: started.port as number };
}
