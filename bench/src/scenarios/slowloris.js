/**
 * Slowloris against a Systemge node: many TCP sockets connect and never send a byte, while a
 * real peer connects and makes a sync request. Three processes per measurement: the node
 * (src/slowloris/target.js), the silent sockets (silent-sockets.js) and the peer (peer.js).
 * Variants, interleaved: no silent sockets (the reference), the node's default access caps
 * (maxPendingHandshakes 128, so most silent sockets are refused at accept), and
 * maxPendingHandshakes raised to 1000 so every silent socket is held until the handshake timeout.
 *
 * Measured: ms from the peer's start to its first successful sync response and the connection
 * attempts it took; how many silent sockets the node closed at once (refused) and how many it
 * held, and when it closed the held ones vs `handshakeTimeoutMs`; node RSS before, at the peak
 * and after; the node's event-loop delay during the attack.
 */
import { fileURLToPath } from 'node:url';
import { ask, expectMessage, openFilesLimit, spawnChild, stopChild } from '../children.js';
import { summarize } from '../harness.js';

const TARGET = fileURLToPath(new URL('../slowloris/target.js', import.meta.url));
const SILENT = fileURLToPath(new URL('../slowloris/silent-sockets.js', import.meta.url));
const PEER = fileURLToPath(new URL('../slowloris/peer.js', import.meta.url));

const VARIANTS = [
  { name: 'no silent sockets', silent: false, maxPendingHandshakes: 'default' },
  { name: 'default caps', silent: true, maxPendingHandshakes: 'default' },
  { name: 'maxPendingHandshakes 1000', silent: true, maxPendingHandshakes: '1000' },
];
const MiB = 2 ** 20;

async function measure(variant, sockets, timeoutMs, fd) {
  const count = variant.silent ? sockets : 0;
  const target = spawnChild(TARGET, [String(timeoutMs), variant.maxPendingHandshakes], {
    fdLimit: fd.fdLimit,
    execArgv: ['--expose-gc'],
  });
  let peer;
  let silent;
  try {
    const { port } = await expectMessage(target, 'listening', 10_000, 'target');
    const deadlineMs = timeoutMs + 5000;
    peer = spawnChild(PEER, [String(port), String(deadlineMs)]);
    await expectMessage(peer, 'ready', 10_000, 'peer');
    const before = await ask(target, 'snapshot?', 'snapshot', 5000, 'target');
    silent = spawnChild(SILENT, [String(port), String(count), String(deadlineMs)], { fdLimit: fd.fdLimit });
    const closed = expectMessage(silent, 'result', 10_000 + 2 * deadlineMs, 'silent sockets');
    const connected = await expectMessage(silent, 'connected', 10_000, 'silent sockets');
    const synced = expectMessage(peer, 'result', deadlineMs + 5000, 'peer');
    peer.send({ type: 'go' });
    const sync = await synced;
    const { closes, open } = await closed;
    const after = await ask(target, 'snapshot?', 'snapshot', 5000, 'target');
    // The node closes a refused socket at accept, a held one at the handshake timeout.
    const held = closes.filter((ms) => ms >= timeoutMs / 2);
    return {
      silentSockets: count,
      connected: connected.connected,
      connectFailed: connected.failed,
      connectMs: connected.ms,
      closedAtOnce: closes.length - held.length,
      held: held.length,
      stillOpenAtDeadline: open,
      heldClosedAfterMs: held.length > 0 ? summarize(held) : undefined,
      nodeAccepted: after.stats.connectionsAccepted - before.stats.connectionsAccepted,
      nodeRefused: after.stats.connectionsRefused - before.stats.connectionsRefused,
      nodeHandshakeTimeouts: after.stats.handshakeFailures - before.stats.handshakeFailures,
      firstSyncMs: sync.ms,
      peerAttempts: sync.attempts,
      rssBeforeMiB: before.rss / MiB,
      rssPeakMiB: after.peakRss / MiB,
      rssAfterMiB: after.rss / MiB,
      heapUsedBeforeMiB: before.heapUsed / MiB,
      heapUsedAfterMiB: after.heapUsed / MiB,
      lagMaxMs: after.lag.maxMs,
      lagP99Ms: after.lag.p99Ms,
    };
  } finally {
    await Promise.all([stopChild(silent), stopChild(peer), stopChild(target)]);
  }
}

const ms = (n) => (n === null || n === undefined ? '—' : n >= 100 ? n.toFixed(0) : n.toFixed(1));
const mib = (n) => n.toFixed(1);
/** "median (min–max)" of the non-null values; "—" when none; "never" counts the nulls. */
function range(values, format) {
  const real = values.filter((v) => v !== null && v !== undefined);
  if (real.length === 0) return values.length > 0 ? 'never' : '—';
  const s = summarize(real);
  const text = real.length === 1 ? format(s.median) : `${format(s.median)} (${format(s.min)}–${format(s.max)})`;
  const missing = values.length - real.length;
  return missing > 0 ? `${text}, ${missing}× never` : text;
}

export const scenario = {
  name: 'slowloris',
  description: 'silent sockets against a Systemge node: a real peer’s first sync, handshake-timeout closes, RSS, event-loop delay',
  async run(ctx) {
    const { runs, quick } = ctx.options;
    const wanted = quick ? 20 : 500;
    const timeoutMs = quick ? 500 : 5000;
    const notes = [];
    // The node holds every silent socket plus its own; the attacker holds every socket too.
    const fd = openFilesLimit(wanted + 200);
    let sockets = wanted;
    if (fd.available < wanted + 200) {
      sockets = Math.max(0, fd.available - 200);
      notes.push(`Open-files limit ${fd.available}: ${sockets} silent sockets instead of ${wanted}.`);
    }
    if (fd.fdLimit !== undefined) notes.push(`Children run with \`ulimit -n ${fd.fdLimit}\`.`);
    ctx.log(`slowloris: ${runs} × ${VARIANTS.length} variants, ${sockets} silent sockets, handshake timeout ${timeoutMs} ms`);
    const byVariant = new Map(VARIANTS.map((v) => [v.name, []]));
    for (let r = 0; r < runs; r++) {
      for (const variant of VARIANTS) byVariant.get(variant.name).push(await measure(variant, sockets, timeoutMs, fd));
    }
    const results = VARIANTS.map((v) => ({
      variant: v.name,
      maxPendingHandshakes: v.maxPendingHandshakes,
      handshakeTimeoutMs: timeoutMs,
      runs: byVariant.get(v.name),
    }));
    const rows = results.map(({ variant, runs: list }) => {
      const pick = (key) => list.map((m) => m[key]);
      const med = (key) => summarize(pick(key)).median;
      const heldMedians = list.map((m) => m.heldClosedAfterMs?.median);
      const heldMax = list.map((m) => m.heldClosedAfterMs?.max);
      return {
        variant,
        silent:
          list[0].silentSockets === 0
            ? '0'
            : `${med('held')} / ${med('closedAtOnce')}${med('stillOpenAtDeadline') > 0 ? ` / ${med('stillOpenAtDeadline')} open` : ''}`,
        nodeRefused: String(med('nodeRefused')),
        heldClose: list[0].silentSockets === 0 ? '—' : `${range(heldMedians, ms)} / max ${range(heldMax, ms)}`,
        firstSync: range(pick('firstSyncMs'), ms),
        attempts: range(pick('peerAttempts'), String),
        lag: `${ms(med('lagMaxMs'))} / ${ms(med('lagP99Ms'))}`,
        rss: `${mib(med('rssBeforeMiB'))} → ${mib(med('rssPeakMiB'))} → ${mib(med('rssAfterMiB'))}`,
      };
    });
    notes.unshift(
      `${sockets} silent sockets from one address, opened at once after the node has started; the peer starts once they are all connected. handshakeTimeoutMs ${timeoutMs}${timeoutMs === 5000 ? ' (the default)' : ''}; everything else at the node’s defaults (maxPendingHandshakes 128, maxConnections 4096, no per-IP limit).`,
      'held / refused: silent sockets the node held until the handshake timeout / closed at accept (client side: closed in under half the timeout). node refused: the node’s connectionsRefused counter.',
      'held closed after: ms from the socket’s connect to its close, median of each run (min–max over runs) / the largest in a run; compare with handshakeTimeoutMs.',
      'first sync: ms from the peer’s start() to its first successful sync response; attempts: connection attempts it took (default backoff 200 ms × 2^n with ±20 % jitter, no attempt limit here; the default maxAttempts is 5).',
      'event-loop delay of the node from before the attack until every silent socket was closed, max / p99 (monitorEventLoopDelay, 10 ms resolution, so ≈ 10 ms is the floor).',
      'RSS of the node before the attack → highest sampled (every 20 ms) → after every silent socket was closed (after a full GC).',
    );
    return {
      columns: [
        { key: 'variant', title: 'variant' },
        { key: 'silent', title: 'held / refused', align: 'right' },
        { key: 'nodeRefused', title: 'node refused', align: 'right' },
        { key: 'heldClose', title: 'held closed after ms', align: 'right' },
        { key: 'firstSync', title: 'first sync ms', align: 'right' },
        { key: 'attempts', title: 'attempts', align: 'right' },
        { key: 'lag', title: 'loop delay ms max / p99', align: 'right' },
        { key: 'rss', title: 'RSS MiB before → peak → after', align: 'right' },
      ],
      rows,
      results,
      notes,
    };
  },
};
