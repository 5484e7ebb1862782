#!/usr/bin/env node
// Lists the shell commands the READMEs show: every line of a ```sh block (continuation lines
// joined, comments dropped) and every inline `pnpm …` / `npx …` in the text. The test next to this
// file runs each of them, so a README cannot name a command that does not work.
//
//   node scripts/readme-commands/list.mjs       one line per command: <readme>\t<command>
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, relative } from 'node:path';

export const root = fileURLToPath(new URL('../..', import.meta.url));

/** The READMEs of the repository's entry points (packages' READMEs speak to users of published packages). */
export const READMES = [
  'README.md',
  'examples/chat/README.md',
  'examples/ping-pong/README.md',
  'examples/scatter-gather/README.md',
  'examples/mesh/README.md',
  'bench/README.md',
];

/** `{ readme, command }` for each command, in order of appearance. */
export function readmeCommands() {
  const out = [];
  for (const readme of READMES) {
    const text = readFileSync(join(root, readme), 'utf8');
    let fence;
    let pending = '';
    for (const line of text.split('\n')) {
      const marker = /^```(\S*)/.exec(line);
      if (marker !== null) {
        fence = fence === undefined ? marker[1] : undefined;
        continue;
      }
      if (fence === 'sh') {
        const code = `${pending}${line.replace(/(^|\s)#.*$/, '')}`.trim();
        if (code.endsWith('\\')) {
          pending = `${code.slice(0, -1)} `;
          continue;
        }
        pending = '';
        if (code !== '') out.push({ readme, command: code.replace(/\s+/g, ' ') });
      } else if (fence === undefined) {
        for (const match of line.matchAll(/`((?:pnpm|npx) [^`]+)`/g)) out.push({ readme, command: match[1] });
      }
    }
  }
  // One entry per command and README.
  const seen = new Set();
  return out.filter(({ readme, command }) => !seen.has(`${readme}\0${command}`) && seen.add(`${readme}\0${command}`));
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const { readme, command } of readmeCommands()) console.log(`${relative(root, join(root, readme))}\t${command}`);
}
