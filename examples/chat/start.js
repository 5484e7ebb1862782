// `pnpm start` here (and `pnpm demo` at the repository root): bundles the dashboard's browser UI
// from its sources, then runs `systemge start systemge.config.json --log-level warn`.
//
// On a terminal, Ctrl+C is read as a key and stops the nodes as SIGINT would. A real SIGINT from
// the terminal would also reach pnpm, which then reports the run as failed (`ELIFECYCLE Command
// failed`) even though everything stopped cleanly and the CLI exited 0.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { main, processIO } from '@systemge/cli';

const CTRL_C = 0x03;
const CTRL_D = 0x04;

const buildUI = fileURLToPath(new URL('../../packages/dashboard/scripts/build-ui.mjs', import.meta.url));
execFileSync(process.execPath, [buildUI, '--quiet'], { stdio: 'inherit' });

const tty = process.stdin.isTTY ? process.stdin : undefined;
if (tty !== undefined) {
  tty.setRawMode(true);
  tty.on('data', (bytes) => {
    if (bytes.includes(CTRL_C) || bytes.includes(CTRL_D)) process.kill(process.pid, 'SIGINT');
  });
}
const code = await main(['start', 'systemge.config.json', '--log-level', 'warn', ...process.argv.slice(2)], processIO());
if (tty !== undefined) {
  tty.setRawMode(false);
  tty.destroy();
}
process.exitCode = code;
