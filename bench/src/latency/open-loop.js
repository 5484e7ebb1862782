/**
 * An open-loop load generator: requests are due at fixed times (`start + i / rate`), sent when
 * they are due whether or not earlier ones have been answered, and each latency is measured from
 * the time the request was due, not from when it was sent. A sender that falls behind (a busy
 * event loop, a garbage collection, the in-flight cap) adds its lateness to every late request's
 * latency, so a stall is not hidden by sending less (no coordinated omission).
 *
 * Latencies go into `perf_hooks.createHistogram()` (HdrHistogram, 3 significant digits) in ns.
 */
import { createHistogram } from 'node:perf_hooks';

const now = () => Number(process.hrtime.bigint());

/**
 * Runs one schedule and resolves with the measured window's latencies.
 *
 * - `request()`: sends one request, returns a promise settled by its response.
 * - `check(response)` (optional): called with each response's value before it is recorded.
 * - `rate`: requests per second offered.
 * - `warmupSeconds`: the schedule runs this long before the window; those requests are not recorded.
 * - `seconds`: the window. Requests due in it are the measured ones.
 * - `drainSeconds`: after the window, how long requests due in it may still take to complete. One
 *   that has not completed by then (still in flight, or never sent because the sender was held back)
 *   is recorded with the time it had waited so far: a lower bound, counted in `incomplete`.
 * - `maxInFlight`: at most this many requests outstanding; more are sent as responses free slots,
 *   late, and their lateness counts. Bounds memory when a system cannot keep up.
 */
export function openLoop({ request, check, rate, warmupSeconds, seconds, drainSeconds, maxInFlight }) {
  return new Promise((resolve, reject) => {
    const interval = 1e9 / rate;
    const start = now();
    const total = Math.floor(((warmupSeconds + seconds) * 1e9) / interval);
    const first = Math.ceil((warmupSeconds * 1e9) / interval);
    const due = (i) => start + i * interval;
    const done = new Uint8Array(total);
    const histogram = createHistogram({ lowest: 1, highest: 3_600_000_000_000, figures: 3 });
    let next = 0;
    let inFlight = 0;
    let held = false;
    let completed = 0;
    let measuredCompleted = 0;
    let maxSendLagNs = 0;
    let closed = false;
    const windowStart = due(first);
    let cpu0 = process.cpuUsage();
    let cpuMarked = false;

    const finish = () => {
      if (closed) return;
      closed = true;
      clearTimeout(cutoff);
      const t = now();
      let incomplete = 0;
      for (let i = first; i < total; i++) {
        if (done[i] === 0) {
          histogram.record(Math.max(1, Math.round(t - due(i))));
          incomplete++;
        }
      }
      const cpu = process.cpuUsage(cpu0);
      const measured = total - first;
      resolve({
        rate,
        requests: measured,
        completed: measuredCompleted,
        incomplete,
        unsent: Math.max(0, total - Math.max(next, first)),
        windowNs: seconds * 1e9,
        elapsedNs: t - windowStart,
        maxSendLagNs,
        clientCpuNsPerRequest: ((cpu.user + cpu.system) * 1000) / Math.max(1, measuredCompleted),
        ns: {
          min: histogram.min,
          p50: histogram.percentile(50),
          p90: histogram.percentile(90),
          p99: histogram.percentile(99),
          p999: histogram.percentile(99.9),
          max: histogram.max,
          mean: histogram.mean,
        },
      });
    };

    const onResponse = (i) => {
      inFlight--;
      if (closed) return;
      done[i] = 1;
      completed++;
      if (i >= first) {
        histogram.record(Math.max(1, Math.round(now() - due(i))));
        measuredCompleted++;
      }
      if (completed === total) finish();
      else if (held) {
        held = false;
        setImmediate(tick);
      }
    };
    const onError = (err) => {
      if (closed) return;
      closed = true;
      clearTimeout(cutoff);
      reject(err);
    };
    const send = (i) => {
      inFlight++;
      request().then(
        check === undefined
          ? () => onResponse(i)
          : (response) => {
              check(response);
              onResponse(i);
            },
        onError,
      );
    };

    const tick = () => {
      if (closed) return;
      const t = now();
      if (!cpuMarked && t >= windowStart) {
        cpuMarked = true;
        cpu0 = process.cpuUsage();
      }
      const upTo = Math.min(total, Math.floor((t - start) / interval) + 1);
      while (next < upTo && inFlight < maxInFlight) {
        if (next >= first) maxSendLagNs = Math.max(maxSendLagNs, t - due(next));
        send(next++);
      }
      if (next >= total) return;
      if (inFlight >= maxInFlight) {
        held = true;
        return;
      }
      // Wait in the event loop: a timer when the next request is well ahead, otherwise the next
      // turn (setImmediate lets I/O in first), so sends are not quantized to timer milliseconds.
      const wait = due(next) - now();
      if (wait > 2e6) setTimeout(tick, Math.floor(wait / 1e6) - 1);
      else setImmediate(tick);
    };

    const cutoff = setTimeout(finish, (warmupSeconds + seconds + drainSeconds) * 1000);
    tick();
  });
}
