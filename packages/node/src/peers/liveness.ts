import { FrameKind, type HeartbeatFrame } from '@systemge/protocol';
import type { NodeContext, TimerHandle } from '../context.js';
import { HeartbeatTimeoutError } from '../errors.js';
import type { Peer } from './peer.js';

/** What liveness needs from its neighbours. */
export interface LivenessNeighbours {
  /** Every connection (only ready ones are checked). */
  connections(): Iterable<Peer>;
}

/**
 * Heartbeats: probes peers that went quiet and destroys the ones silent for longer than
 * `heartbeat.timeoutMs`; answers the probes of others. The only writer of `peer.liveness`
 * after the handshake.
 */
export class Liveness {
  private readonly ctx: NodeContext;
  private readonly n: LivenessNeighbours;
  private timer: TimerHandle | undefined;
  private lastCheckAt = 0;

  constructor(ctx: NodeContext, neighbours: LivenessNeighbours) {
    this.ctx = ctx;
    this.n = neighbours;
  }

  /** How often the peers are checked: half the heartbeat interval, at least 10 ms. */
  get checkEveryMs(): number {
    return Math.max(10, this.ctx.config.heartbeat.intervalMs >> 1);
  }

  start(): void {
    const { intervalMs } = this.ctx.config.heartbeat;
    if (intervalMs <= 0) return;
    this.lastCheckAt = this.ctx.clock.now();
    this.timer = this.ctx.clock.setInterval(() => this.check(), this.checkEveryMs, true);
  }

  stop(): void {
    if (this.timer !== undefined) this.ctx.clock.clearInterval(this.timer);
    this.timer = undefined;
  }

  /** A peer's probe: answer it. */
  onHeartbeat(peer: Peer, frame: HeartbeatFrame): void {
    if (!peer.connection.closed) peer.connection.send({ kind: FrameKind.HeartbeatAck, nonce: frame.nonce });
  }

  /** Probes idle peers and destroys the ones silent for longer than the timeout. */
  check(): void {
    const { intervalMs, timeoutMs } = this.ctx.config.heartbeat;
    const now = this.ctx.clock.now();
    const stalled = now - this.lastCheckAt > 2 * this.checkEveryMs;
    this.lastCheckAt = now;
    // After this node's own event loop was blocked, timers run before pending socket data is read:
    // skip one round so that data counts, instead of declaring peers dead for our own stall.
    if (stalled) return;
    for (const peer of this.n.connections()) {
      // A superseded connection is closing; its successor is the one judged.
      if (peer.state !== 'ready' || peer.superseded) continue;
      const connection = peer.connection;
      const live = peer.liveness;
      // While we do not read (backpressure), silence says nothing about the peer.
      if (connection.bytesIn !== live.lastBytesIn || connection.paused) {
        live.lastBytesIn = connection.bytesIn;
        live.lastHeardAt = now;
        continue;
      }
      const silent = now - live.lastHeardAt;
      if (silent >= timeoutMs) {
        const error = new HeartbeatTimeoutError(peer.name, silent, timeoutMs);
        this.ctx.counters.heartbeatTimeouts++;
        this.ctx.logger.warn({ peer: peer.name }, error.message);
        this.ctx.emit('peer:dead', peer.describe());
        connection.destroy(error);
      } else if (silent >= intervalMs && now - live.lastProbeAt >= intervalMs) {
        live.lastProbeAt = now;
        live.probeNonce = (live.probeNonce + 1) >>> 0;
        try {
          connection.send({ kind: FrameKind.Heartbeat, nonce: live.probeNonce });
        } catch {
          // Closed meanwhile; onClose handles it.
        }
      }
    }
  }
}
