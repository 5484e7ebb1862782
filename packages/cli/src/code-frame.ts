/** Line and column (both from 1) of a character offset in `text`. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const lines = before.split('\n');
  return { line: lines.length, column: (lines.at(-1)?.length ?? 0) + 1 };
}

/**
 * The lines around `line` of `text`, numbered, with a caret under `column`:
 *
 * ```
 *    3 |     listen:
 *    4 |       port: 0
 * >  5 |      bad: 1
 *      |      ^
 * ```
 */
export function codeFrame(text: string, line: number, column: number, context = 2): string {
  const lines = text.split('\n');
  const first = Math.max(1, line - context);
  const last = Math.min(lines.length, line + 1);
  const width = String(last).length;
  const out: string[] = [];
  for (let n = first; n <= last; n++) {
    const content = (lines[n - 1] ?? '').replace(/\r$/, '').replace(/\t/g, ' ');
    out.push(`${n === line ? '>' : ' '} ${String(n).padStart(width)} | ${content}`);
    if (n === line) out.push(`  ${' '.repeat(width)} | ${' '.repeat(Math.max(0, column - 1))}^`);
  }
  return out.join('\n');
}
