import type { Connection, Listener, RemoteAddress } from '@systemge/protocol';
import { isLoopbackHost } from '../connect/access-control.js';
import type { NodeContext } from '../context.js';
import { InsecureListenError, NodeStatusError, NodeStoppedError } from '../errors.js';
import type { NodeStatus } from '../node-types.js';
import type { Peer } from '../peers/peer.js';

/** The steps of start and stop, in the order they run, as the lifecycle sees the other parts. */
export interface LifecycleSteps {
  /** Socket callbacks for the listener. */
  onConnection(connection: Connection): void;
  onRefused(remote: RemoteAddress, reason: string): void;
  accept(remote: RemoteAddress): string | undefined;
  /** Dials the configured endpoints (rejects when one gives up with `onFailure: 'stop'`). */
  dialAll(): Promise<void>;
  /** Cancels the attempts of a start in progress. */
  cancelDials(): void;
  /** Stops every dial and discards what the hold queue has. */
  shutdownDials(): void;
  startLiveness(): void;
  stopLiveness(): void;
  startPlugins(): Promise<void>;
  stopPlugins(): Promise<void>;
  /** The application's `onStart` / `onStop`. */
  appStart(): Promise<void> | void;
  appStop(): Promise<void> | void;
  connections(): Iterable<Peer>;
  /** Resolves true when no handler runs and nothing is queued, false at the deadline. */
  handlersIdle(timeoutMs: number): Promise<boolean>;
  /** Settles every pending sync request with this error. */
  failRequests(error: Error): void;
  /** Stops waiting for the replacements of superseded connections. */
  forgetReplacements(): void;
  /** Releases everyone waiting in `drained()`. */
  releaseDrainWaiters(): void;
}

/**
 * The node's status machine (stopped → starting → started → stopping → stopped): start, stop,
 * restart, the listener, and teardown of everything start acquired, in order. A stop during a
 * start cancels the start's dials and waits for it.
 */
export class Lifecycle {
  private readonly ctx: NodeContext;
  private readonly steps: LifecycleSteps;
  private readonly onStatus: (status: NodeStatus, previous: NodeStatus) => void;
  private status_: NodeStatus = 'stopped';
  private transition: Promise<void> | undefined;
  private startedAt = 0;
  private listener_: Listener | undefined;

  constructor(ctx: NodeContext, steps: LifecycleSteps, onStatus: (status: NodeStatus, previous: NodeStatus) => void) {
    this.ctx = ctx;
    this.steps = steps;
    this.onStatus = onStatus;
  }

  get status(): NodeStatus {
    return this.status_;
  }

  get listener(): Listener | undefined {
    return this.listener_;
  }

  get uptimeMs(): number {
    return this.status_ === 'started' ? this.ctx.clock.now() - this.startedAt : 0;
  }

  private setStatus(status: NodeStatus): void {
    const previous = this.status_;
    if (previous === status) return;
    this.status_ = status;
    this.ctx.logger.info({ status, previous }, `node ${status}`);
    this.onStatus(status, previous);
  }

  start(): Promise<void> {
    if (this.status_ !== 'stopped') {
      return Promise.reject(new NodeStatusError(`cannot start node ${this.ctx.name}: it is ${this.status_}`));
    }
    const run = this.doStart().finally(() => {
      this.transition = undefined;
    });
    this.transition = run;
    return run;
  }

  private async doStart(): Promise<void> {
    this.setStatus('starting');
    const { config, logger } = this.ctx;
    try {
      const { transport } = config;
      if (config.listen !== false && transport !== undefined) {
        this.listener_ = await transport.listen({
          host: config.listen.host,
          port: config.listen.port,
          limits: config.limits,
          highWaterMark: config.connection.highWaterMark,
          onConnection: (connection) => this.steps.onConnection(connection),
          onRefused: (remote, reason) => this.steps.onRefused(remote, reason),
          accept: (remote) => this.steps.accept(remote),
        });
        logger.info({ host: this.listener_.host, port: this.listener_.port }, 'listening');
        this.warnIfOpen(this.listener_);
      }
      await this.steps.dialAll();
      this.steps.startLiveness();
      await this.steps.startPlugins();
      await this.steps.appStart();
      this.startedAt = this.ctx.clock.now();
      this.setStatus('started');
    } catch (error) {
      logger.error({ err: error }, 'start failed');
      await this.teardown(error instanceof Error ? error.message : 'start failed', 0);
      this.setStatus('stopped');
      throw error;
    }
  }

  /** A listener other machines can reach, with nothing to tell a peer from a stranger, is worth a warning. */
  private warnIfOpen(listener: Listener): void {
    if (isLoopbackHost(listener.host)) return;
    const { auth, transport } = this.ctx.config;
    const { token, peerTokens, requireCertificateName } = auth;
    if (token !== undefined || (peerTokens !== undefined && Object.keys(peerTokens).length > 0)) return;
    if (requireCertificateName === true || transport?.verifiesPeers === true) return;
    const warning = new InsecureListenError(listener.host, listener.port);
    this.ctx.logger.warn({ host: listener.host, port: listener.port, code: warning.code }, warning.message);
    this.ctx.emit('warning', warning);
  }

  async stop(reason = 'node stopping'): Promise<void> {
    if (this.status_ === 'stopped') return;
    if (this.status_ === 'stopping') {
      await this.transition;
      return;
    }
    if (this.status_ === 'starting') {
      // start() may be waiting on endpoint attempts (forever with maxAttempts 0): cancel them.
      this.steps.cancelDials();
      await this.transition?.catch(() => {});
      if ((this.status_ as NodeStatus) !== 'started') return;
    }
    const run = this.doStop(reason).finally(() => {
      this.transition = undefined;
    });
    this.transition = run;
    await run;
  }

  private async doStop(reason: string): Promise<void> {
    this.setStatus('stopping');
    try {
      await this.steps.appStop();
    } catch (error) {
      this.ctx.logger.error({ err: error }, 'onStop failed');
    }
    await this.teardown(reason, this.ctx.config.shutdownTimeoutMs);
    this.setStatus('stopped');
  }

  /** Releases everything start() acquired: plugins, listener, dials, handlers, requests, sockets. */
  private async teardown(reason: string, handlerDeadlineMs: number): Promise<void> {
    const steps = this.steps;
    steps.stopLiveness();
    await steps.stopPlugins();
    const listener = this.listener_;
    this.listener_ = undefined;
    await listener?.close();
    steps.shutdownDials();
    // A counted pause: the dispatcher releasing its own backpressure pause must not resume reading now.
    // Not the connections already closing: a paused socket would never see the peer's FIN.
    for (const peer of steps.connections()) if (!peer.closed && !peer.closingLocally) peer.pauseReading();
    if (handlerDeadlineMs > 0) {
      const idle = await steps.handlersIdle(handlerDeadlineMs);
      if (!idle) this.ctx.logger.warn({ deadlineMs: handlerDeadlineMs }, 'handlers still running at the shutdown deadline');
    }
    steps.failRequests(new NodeStoppedError(this.ctx.name));
    steps.forgetReplacements();
    await Promise.all([...steps.connections()].map((peer) => peer.close(reason, 'normal')));
    steps.releaseDrainWaiters();
  }
}
