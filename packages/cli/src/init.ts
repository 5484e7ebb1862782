import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { InitError, UsageError } from './errors.js';

/** Where `systemge init` writes and reports. */
export interface InitOptions {
  /** Folder of `.tgz` files made with `pnpm pack`: @systemge packages come from there instead of the registry. */
  fromTarballs: string | undefined;
  /** Run `npm install` after writing the files. */
  install: boolean;
  io: { out(line: string): void; err(line: string): void };
}

function cliVersion(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** `{ "@systemge/node": "/abs/systemge-node-1.0.0.tgz", … }` from the tarballs in `dir`. */
export function tarballsIn(dir: string): Map<string, string> {
  const folder = resolve(dir);
  if (!existsSync(folder) || !statSync(folder).isDirectory()) throw new UsageError(`--from-tarballs: ${folder} is not a folder`);
  const found = new Map<string, string>();
  for (const file of readdirSync(folder)) {
    if (!file.endsWith('.tgz')) continue;
    const path = join(folder, file);
    const read = spawnSync('tar', ['-xzOf', path, 'package/package.json'], { encoding: 'utf8' });
    if (read.status !== 0) throw new InitError(`cannot read package/package.json in ${path}: ${read.stderr.trim()}`);
    const name = (JSON.parse(read.stdout) as { name: string }).name;
    if (name.startsWith('@systemge/')) found.set(name, path);
  }
  if (!found.has('@systemge/cli')) throw new UsageError(`--from-tarballs: no @systemge/cli tarball in ${folder}`);
  return found;
}

const APP_GREETER = `// The greeter node: answers "greet" requests and counts them.
// A configuration file names this module as a node's "application"; its default export
// is the application object, or (as here) a function that makes it.

/** @param {{ name: string, options: Record<string, unknown> }} context */
export default function greeter({ name, options }) {
  let greeted = 0;
  const greeting = String(options.greeting ?? 'hello');
  return {
    getSyncMessageHandlers: () => ({
      // A sync request: the returned value is the response.
      greet: (message) => {
        greeted++;
        return \`\${greeting} \${message.payload}, from \${name}\`;
      },
    }),
    getCommandHandlers: () => ({
      // Commands return text or data: systemge command --node 127.0.0.1:7301 greeted
      greeted: () => ({ greeted }),
    }),
  };
}
`;

const APP_CLIENT = `// The client node: dials the greeter (see systemge.yaml) and asks it to greet.

export default function client() {
  return {
    getCommandHandlers: () => ({
      // systemge command --node 127.0.0.1:7302 ask Ada
      ask: async (args) => {
        const node = started;
        if (node === undefined) throw new Error('the node is not started');
        return await node.syncRequest('greet', args.join(' ') || 'stranger').first();
      },
    }),
    onStart: (node) => {
      started = node;
    },
    onStop: () => {
      started = undefined;
    },
  };
}

/** @type {import('@systemge/node').SystemgeNode | undefined} */
let started;
`;

const CONFIG = `# Two nodes in one process: \`npm start\` (or npx systemge start systemge.yaml).
# Check it without starting: npx systemge validate systemge.yaml
nodes:
  - name: greeter
    application: src/greeter.js
    options:
      greeting: hello
    listen:
      host: 127.0.0.1
      port: 7301
    # Lets peers run this node's commands: npx systemge command --node 127.0.0.1:7301 stats
    # (loopback only here; on a network also set auth.token and pass --token).
    commands:
      remote: true

  - name: client
    application: src/client.js
    listen:
      host: 127.0.0.1
      port: 7302
    endpoints:
      - host: 127.0.0.1
        port: 7301
    commands:
      remote: true
`;

const TEST = `// Starts the nodes of systemge.yaml and checks them: npm test
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, test } from 'node:test';
import { loadConfigFile, startSystem } from '@systemge/cli';

const file = new URL('../systemge.yaml', import.meta.url).pathname;
const running = [];
after(async () => {
  for (const system of running.reverse()) await system.stop();
});

test('systemge.yaml is valid', () => {
  const bin = new URL('../node_modules/.bin/systemge', import.meta.url).pathname;
  const result = spawnSync(bin, ['validate', file], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /^valid: /);
});

test('the client asks the greeter and gets its answer', async () => {
  const loaded = loadConfigFile(file);
  const [greeterSpec, clientSpec] = loaded.config.nodes;
  // Port 0: the test never collides with a running copy (npm start) of the same file.
  greeterSpec.listen = { host: '127.0.0.1', port: 0 };
  clientSpec.listen = { host: '127.0.0.1', port: 0 };
  const greeter = await startSystem({ ...loaded, config: { nodes: [greeterSpec] } });
  running.push(greeter);
  clientSpec.endpoints = [{ host: '127.0.0.1', port: greeter.nodes[0].node.address.port }];
  const client = await startSystem({ ...loaded, config: { nodes: [clientSpec] } });
  running.push(client);

  assert.equal(await client.nodes[0].node.command('ask', ['Ada']), 'hello Ada, from greeter');
  // Commands return data, not text to parse.
  assert.deepEqual(await greeter.nodes[0].node.command('greeted'), { greeted: 1 });
  const stats = await greeter.nodes[0].node.command('stats');
  assert.equal(stats.syncRequestsReceived, 1);
});
`;

function readme(name: string): string {
  return `# ${name}

A [Systemge](https://www.npmjs.com/package/@systemge/cli) project: two nodes, \`greeter\` and
\`client\`, described in \`systemge.yaml\`. The client dials the greeter and asks it to greet.

| File | What it is |
| --- | --- |
| \`systemge.yaml\` | the nodes: names, addresses, who dials whom, their application modules |
| \`src/greeter.js\` | answers \`greet\` requests; command \`greeted\` |
| \`src/client.js\` | command \`ask <name>\`: sends a \`greet\` request to the greeter |
| \`test/nodes.test.js\` | starts both nodes and checks an answer: \`npm test\` |

## Run it

\`\`\`sh
npm test                                              # start the nodes, check them, stop
npm start                                             # run them until Ctrl+C
npx systemge command --node 127.0.0.1:7302 ask Ada    # in another terminal: hello Ada, from greeter
npx systemge command --node 127.0.0.1:7301 stats      # the greeter's counters, as JSON
npx systemge repl --node 127.0.0.1:7301 --node 127.0.0.1:7302   # interactive console
\`\`\`

In the console: \`nodes\`, \`use client\`, \`ask Ada\`, \`call greet Ada\` (with \`use greeter\`),
\`watch\`, \`help\`, \`exit\`.

## Next steps

- Add topics: \`getAsyncMessageHandlers\` / \`getSyncMessageHandlers\` in an application module.
- Add a dashboard: a top-level \`dashboard: { port: 7070 }\` section in \`systemge.yaml\`.
- Across machines: give every node \`auth: { token: \${SYSTEMGE_TOKEN} }\` and a TLS transport,
  and pass \`--token\` / \`--tls --ca\` to \`systemge command\`.
- \`npx systemge --help\` lists every command.
`;
}

/** Writes a new project into `dir` and installs its packages. Returns the exit code. */
export async function initProject(dir: string, options: InitOptions): Promise<number> {
  const { io } = options;
  const target = resolve(dir);
  if (existsSync(target) && (!statSync(target).isDirectory() || readdirSync(target).length > 0)) {
    throw new UsageError(`${target} exists and is not an empty folder`);
  }
  const tarballs = options.fromTarballs === undefined ? undefined : tarballsIn(options.fromTarballs);
  const name =
    basename(target)
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '-')
      .replace(/^[._-]+/, '') || 'systemge-project';
  const version = cliVersion();
  const dependencies: Record<string, string> =
    tarballs === undefined
      ? { '@systemge/cli': `^${version}`, '@systemge/node': `^${version}` }
      : Object.fromEntries([...tarballs].sort(([a], [b]) => a.localeCompare(b)).map(([pkg, path]) => [pkg, `file:${path}`]));
  const manifest: Record<string, unknown> = {
    name,
    version: '0.1.0',
    private: true,
    type: 'module',
    scripts: {
      start: 'systemge start systemge.yaml',
      test: 'node --test test/',
    },
    engines: { node: '>=20.11' },
    dependencies,
  };
  // Nested requests for @systemge packages resolve to the same tarballs.
  if (tarballs !== undefined) manifest.overrides = Object.fromEntries([...tarballs.keys()].sort().map((pkg) => [pkg, `$${pkg}`]));

  mkdirSync(join(target, 'src'), { recursive: true });
  mkdirSync(join(target, 'test'), { recursive: true });
  const files: [string, string][] = [
    ['package.json', `${JSON.stringify(manifest, null, 2)}\n`],
    ['systemge.yaml', CONFIG],
    ['src/greeter.js', APP_GREETER],
    ['src/client.js', APP_CLIENT],
    ['test/nodes.test.js', TEST],
    ['README.md', readme(name)],
    ['.gitignore', 'node_modules/\n'],
  ];
  for (const [file, text] of files) writeFileSync(join(target, file), text);
  io.out(`systemge: created ${target}`);
  for (const [file] of files) io.out(`  ${file}`);
  if (!options.install) {
    io.out(`next: cd ${dir} && npm install && npm test`);
    return 0;
  }
  io.out(`systemge: npm install${tarballs === undefined ? '' : ` (@systemge packages from ${resolve(options.fromTarballs as string)})`}`);
  const code = await new Promise<number>((done) => {
    const child = spawn('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: target,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const relay = (write: (line: string) => void) => (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') write(`  ${line}`);
    };
    child.stdout.on('data', relay(io.out));
    child.stderr.on('data', relay(io.err));
    child.on('error', (error) => {
      io.err(`systemge: cannot run npm: ${error.message}`);
      done(1);
    });
    child.on('close', (status) => done(status ?? 1));
  });
  if (code !== 0) {
    io.err(`systemge: npm install failed in ${target} (exit ${code}); the files are written, run it again there`);
    return 1;
  }
  io.out(`next: cd ${dir} && npm test && npm start`);
  return 0;
}
