#!/usr/bin/env node
/**
 * Prints the functions with the most self time in a V8 .cpuprofile (from `node --cpu-prof`).
 *
 *   node src/profile-summary.js <file.cpuprofile> [top=25]
 *
 * To profile the tcp-throughput children:
 *   BENCH_CPU_PROF=both node src/run.js --only tcp-throughput --runs 1
 * writes one profile per child process to results/tmp/.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

const [file, topArg] = process.argv.slice(2);
if (file === undefined) {
  console.error('usage: node src/profile-summary.js <file.cpuprofile> [top]');
  process.exit(2);
}
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map();
const dt = profile.timeDeltas;
let total = 0;
for (let i = 0; i < profile.samples.length; i++) {
  const node = byId.get(profile.samples[i]);
  const { functionName, url, lineNumber } = node.callFrame;
  const key = `${functionName || '(anonymous)'} ${url ? `${path.basename(url)}:${lineNumber + 1}` : ''}`.trim();
  const t = dt[i] ?? 0;
  self.set(key, (self.get(key) ?? 0) + t);
  total += t;
}
const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, top);
console.log(`${path.basename(file)}: ${(total / 1000).toFixed(0)} ms sampled`);
for (const [key, t] of rows) console.log(`${((t / total) * 100).toFixed(1).padStart(5)} %  ${key}`);
