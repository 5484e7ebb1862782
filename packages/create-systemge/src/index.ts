import { type CLIIO, main } from '@systemge/cli';

/**
 * `npm create systemge <dir>`: the same as `systemge init <dir>` (same flags: `--from-tarballs`,
 * `--no-install`, `--help`). Returns the exit code.
 */
export async function createSystemge(argv: string[], io: CLIIO): Promise<number> {
  return await main(['init', ...argv], io);
}
