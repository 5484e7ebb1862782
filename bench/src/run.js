#!/usr/bin/env node
/**
 * Runs the bench scenarios and prints one markdown table per scenario.
 *
 *   node src/run.js [--runs N] [--seconds S] [--only NAME] [--quick] [--rates LIST]
 *
 * Exits non-zero when a scenario throws, so `--quick` works as a smoke test in CI.
 * Add a scenario by writing a module (see harness.js) and listing it below.
 */
import path from 'node:path';
import { machineInfo, markdownTable, parseOptions, writeResults } from './harness.js';
import { scenario as codec } from './scenarios/codec.js';
import { scenario as tcpThroughput } from './scenarios/tcp-throughput.js';
import { scenario as metricsOverhead } from './scenarios/metrics-overhead.js';
import { scenario as peers } from './scenarios/peers.js';
import { scenario as tlsThroughput } from './scenarios/tls-throughput.js';
import { scenario as slowloris } from './scenarios/slowloris.js';
import { scenario as websocketFanout } from './scenarios/websocket-fanout.js';
import { scenario as latency } from './scenarios/latency.js';
import { scenario as balanced } from './scenarios/balanced.js';
import { scenario as payloads } from './scenarios/structured-payloads.js';

const SCENARIOS = [codec, tcpThroughput, metricsOverhead, peers, latency, balanced, tlsThroughput, slowloris, websocketFanout, payloads];

const USAGE = `usage: node src/run.js [--runs N] [--seconds S] [--only NAME] [--quick] [--rates LIST]
  --runs N      repetitions of every measurement; the table shows the median (default 3)
  --seconds S   length of one measurement, seconds (default 3)
  --only NAME   run one scenario: ${SCENARIOS.map((s) => s.name).join(', ')}
  --quick       smoke mode: 1 run of 0.25 s each, results to results/tmp/
  --rates LIST  latency: offered requests/s, e.g. 20000,50000 (default 25/50/75 % of raw's max)`;

async function main() {
  let options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    console.error(`${err.message}\n${USAGE}`);
    return 2;
  }
  if (options.help) {
    console.log(USAGE);
    return 0;
  }
  const selected = options.only === undefined ? SCENARIOS : SCENARIOS.filter((s) => s.name === options.only);
  if (selected.length === 0) {
    console.error(`unknown scenario "${options.only}"\n${USAGE}`);
    return 2;
  }
  const machine = machineInfo();
  console.log(`# Systemge bench\n`);
  console.log(
    `${machine.cpuModel}, ${machine.cores} cores, ${machine.totalMemoryGiB} GiB, ${machine.platform}, Node ${machine.node}, ${machine.date}`,
  );
  console.log(
    `runs ${options.runs}, ${options.seconds} s per measurement${options.quick ? ' (quick)' : ''}, load average ${machine.loadAverage.join(' ')}\n`,
  );
  if (machine.loadAverage[0] > machine.cores / 2) {
    console.error(`warning: load average ${machine.loadAverage[0]} on ${machine.cores} cores; other work will skew the numbers`);
  }
  const ctx = { options, log: (text) => process.stderr.write(`  … ${text}\n`) };
  let failed = 0;
  for (const scenario of selected) {
    const started = Date.now();
    try {
      const out = await scenario.run(ctx);
      console.log(`## ${scenario.name}: ${scenario.description}\n`);
      console.log(markdownTable(out.columns, out.rows));
      for (const note of out.notes ?? []) console.log(`\n${note}`);
      const file = await writeResults(out.resultsName ?? scenario.name, options, {
        description: scenario.description,
        seconds: (Date.now() - started) / 1000,
        loadAverageAfter: machineInfo().loadAverage,
        results: out.results ?? out.rows,
      });
      console.log(`\n(${((Date.now() - started) / 1000).toFixed(1)} s, ${path.relative(process.cwd(), file)})\n`);
    } catch (err) {
      failed++;
      console.error(`scenario ${scenario.name} failed:`, err);
    }
  }
  return failed === 0 ? 0 : 1;
}

process.exitCode = await main();
