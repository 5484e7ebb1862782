import { FrameKind, type MessageFrame, type MessageKind, type Payload, type SystemgeError } from '@systemge/protocol';
import type { NodeContext } from '../context.js';
import { BackpressureError, InvalidArgumentError, NodeStatusError, NoRouteError } from '../errors.js';
import type { AsyncMessageOptions, SyncRequest, SyncRequestOptions } from '../node-types.js';
import type { Peer } from '../peers/peer.js';
import type { PeerTable } from '../peers/peer-table.js';
import { invalidDuration } from '../timers.js';
import type { HoldOwner, HoldQueue } from './hold-queue.js';
import { encodingUnsupported, refusingPeers } from './payload-encodings.js';
import { sendFields } from './send-fields.js';
import { SyncRequests } from './sync-requests.js';

/**
 * `list` without the peers in `remove`. (A function of its own: a closure over a local of the send
 * path would make every call allocate a context for it, even when no peer is removed.)
 */
function without(list: readonly Peer[], remove: Peer[]): Peer[] {
  return list.filter((peer) => !remove.includes(peer));
}

/** Text and bytes: sent by fields; anything else is packed, once per frame. */
function isPlain(payload: Payload): boolean {
  return typeof payload === 'string' || payload instanceof Uint8Array;
}

/** Throws InvalidArgumentError for a sync request option out of range (a timer cannot wait longer than MAX_TIMER_MS). */
function checkSyncRequestOptions(options: SyncRequestOptions | undefined): void {
  if (options === undefined) return;
  if (options.timeoutMs !== undefined) {
    const problem = invalidDuration(options.timeoutMs, 1);
    if (problem !== undefined) throw new InvalidArgumentError('options.timeoutMs', problem);
  }
  const max = options.maxResponses;
  if (max !== undefined && !(Number.isSafeInteger(max) && max >= 0)) {
    throw new InvalidArgumentError('options.maxResponses', `expected an integer of 0 or more (0 = one per target), got ${String(max)}`);
  }
}

/** What the send path needs from its neighbours. */
export interface OutboundNeighbours {
  peers: PeerTable;
  holds: HoldQueue;
}

/**
 * This node's sends: async messages (routed by topic or addressed by name, held for a reconnecting
 * peer), sync requests and their responses, the buffer limit (`maxBufferedBytes`), and `drained()`.
 * Owns the pending sync requests: each one settles (answers, timeout, peer lost, node stopped).
 */
export class Outbound {
  private readonly ctx: NodeContext;
  private readonly n: OutboundNeighbours;
  readonly requests: SyncRequests;
  private drainWaiters: (() => void)[] = [];
  /** Topics each peer was already reported for as not accepting a payload's encoding (one warning per peer and topic). */
  private readonly encodingReported = new WeakMap<Peer, Set<string>>();

  constructor(ctx: NodeContext, neighbours: OutboundNeighbours) {
    this.ctx = ctx;
    this.n = neighbours;
    this.requests = new SyncRequests(ctx.counters, ctx.clock, (error) => ctx.logger.error({ err: error }, 'a sync request callback threw'));
  }

  private assertSending(): void {
    const status = this.ctx.status();
    if (status !== 'started' && status !== 'starting') {
      throw new NodeStatusError(`cannot send: node ${this.ctx.name} is ${status}`);
    }
  }

  private checkBuffers(targets: readonly Peer[]): void {
    const limit = this.ctx.config.connection.maxBufferedBytes;
    for (let i = 0; i < targets.length; i++) {
      const peer = targets[i] as Peer;
      const buffered = peer.connection.bufferedBytes;
      if (buffered > limit) {
        this.ctx.counters.backpressureRejections++;
        throw new BackpressureError(peer.name, buffered, limit);
      }
    }
  }

  /**
   * Leaves out of `targets` the peers that do not accept the payload's encoding (`refusing`, not
   * empty). Peers the caller named, or no peer left, fail the send with
   * `PayloadEncodingUnsupportedError` before anything is written; peers of a topic's route are
   * skipped: counted, and reported once per peer and topic as a `warning`.
   */
  private skipRefusing(topic: string, targets: readonly Peer[], refusing: Peer[], named: boolean): Peer[] {
    this.ctx.counters.encodingRefusals += refusing.length;
    if (named || refusing.length === targets.length) throw encodingUnsupported(topic, refusing);
    this.reportRefusing(topic, refusing);
    return without(targets, refusing);
  }

  /** A `warning` (and a log line) for each peer not yet reported for `topic`. */
  reportRefusing(topic: string, refusing: readonly Peer[]): void {
    for (const peer of refusing) {
      let topics = this.encodingReported.get(peer);
      if (topics === undefined) this.encodingReported.set(peer, (topics = new Set()));
      if (topics.has(topic)) continue;
      topics.add(topic);
      const error = encodingUnsupported(topic, [peer]);
      this.ctx.logger.warn({ peer: peer.name, topic, code: error.code }, `${error.message}; skipped (reported once per peer and topic)`);
      this.ctx.emit('warning', error);
    }
  }

  asyncMessage(topic: string, payload: Payload, options?: AsyncMessageOptions): boolean {
    this.assertSending();
    const { peers, holds } = this.n;
    const counters = this.ctx.counters;
    let targets: Peer[] | undefined;
    let hold: HoldOwner[] | undefined;
    if (options?.to === undefined) targets = peers.asyncRoutes.get(topic);
    else if (holds.size === 0) targets = peers.namedTargets(options.to, topic, 'async');
    else {
      const names = typeof options.to === 'string' ? [options.to] : options.to;
      const connected: string[] = [];
      for (const name of names) {
        const owner = peers.has(name) ? undefined : holds.lookup(name);
        if (owner === undefined) connected.push(name);
        else (hold ??= []).push(holds.check(owner, name, topic));
      }
      targets = peers.namedTargets(connected, topic, 'async');
    }
    if (targets !== undefined && targets.length > 0) {
      const refusing = refusingPeers(targets, payload);
      if (refusing !== undefined) targets = this.skipRefusing(topic, targets, refusing, options?.to !== undefined);
    }
    if (hold !== undefined) {
      this.checkBuffers(targets ?? []);
      holds.hold(hold, topic, payload);
    }
    if (targets === undefined || targets.length === 0) {
      if (hold !== undefined) return true;
      counters.unroutedMessages++;
      this.ctx.logger.debug({ topic }, 'async message has no route');
      return true;
    }
    this.checkBuffers(targets);
    let writable = true;
    if (isPlain(payload)) {
      for (let i = 0; i < targets.length; i++) {
        if (!sendFields((targets[i] as Peer).connection, FrameKind.AsyncMessage, topic, payload, undefined)) writable = false;
      }
    } else {
      const frame: MessageFrame = { kind: FrameKind.AsyncMessage, topic, payload, syncToken: undefined };
      for (let i = 0; i < targets.length; i++) {
        if (!(targets[i] as Peer).connection.send(frame)) writable = false;
      }
    }
    counters.asyncSent += targets.length;
    counters.topic(topic).sent += targets.length;
    return writable;
  }

  syncRequest(topic: string, payload: Payload, options?: SyncRequestOptions): SyncRequest<Payload> {
    let targets: Peer[] | undefined;
    try {
      checkSyncRequestOptions(options);
      this.assertSending();
      const peers = this.n.peers;
      targets = options?.to === undefined ? peers.syncRoutes.get(topic) : peers.namedTargets(options.to, topic, 'sync');
      if (targets === undefined || targets.length === 0) throw new NoRouteError(topic);
    } catch (error) {
      return this.requests.failed(topic, error as SystemgeError);
    }
    const sync = this.ctx.config.sync;
    return this.sendRequest(
      topic,
      payload,
      targets,
      options?.to !== undefined,
      options?.maxResponses ?? sync.maxResponses,
      options?.timeoutMs ?? sync.timeoutMs,
    );
  }

  /**
   * A sync request to `peer` alone, for one response: `syncRequest` with `to: peer.name` and
   * `maxResponses: 1`, without the options to check and the name to look up. `peer` must be a ready
   * peer that handles `topic` (the caller picked it from the topic's route in this same call).
   */
  syncRequestTo(peer: Peer, topic: string, payload: Payload, timeoutMs: number): SyncRequest<Payload> {
    try {
      this.assertSending();
    } catch (error) {
      return this.requests.failed(topic, error as SystemgeError);
    }
    return this.sendRequest(topic, payload, peer.alone, true, 1, timeoutMs);
  }

  /** Sends a sync request to `targets` (`named`: the caller named them, so a refusing one fails it). */
  private sendRequest(
    topic: string,
    payload: Payload,
    targets: readonly Peer[],
    named: boolean,
    maxResponses: number,
    timeoutMs: number,
  ): SyncRequest<Payload> {
    let refusing: Peer[] | undefined;
    let sendTo: Peer[] | undefined;
    try {
      refusing = refusingPeers(targets, payload);
      if (refusing !== undefined) {
        // A scatter to a topic's route skips them (each gets a failed response below); named peers fail it.
        sendTo = this.skipRefusing(topic, targets, refusing, named);
      }
      this.checkBuffers(sendTo ?? targets);
    } catch (error) {
      return this.requests.failed(topic, error as SystemgeError);
    }
    const names = targets.length === 1 ? (targets[0] as Peer).names : targets.map((p) => p.name);
    let skipped: Map<string, SystemgeError> | undefined;
    if (refusing !== undefined) {
      skipped = new Map();
      for (const peer of refusing) skipped.set(peer.name, encodingUnsupported(topic, [peer]));
    }
    const request = this.requests.create<Payload>(topic, names, maxResponses, timeoutMs, skipped);
    const send = sendTo ?? targets;
    try {
      if (isPlain(payload)) {
        for (let i = 0; i < send.length; i++) sendFields((send[i] as Peer).connection, FrameKind.SyncRequest, topic, payload, request);
      } else {
        const frame: MessageFrame = { kind: FrameKind.SyncRequest, topic, payload, syncToken: request.token };
        for (let i = 0; i < send.length; i++) (send[i] as Peer).connection.send(frame);
      }
    } catch (error) {
      request.settle('failed', error as Error);
      return request;
    }
    this.ctx.counters.syncRequestsSent++;
    this.ctx.counters.topic(topic).sent++;
    request.arm();
    return request;
  }

  /** A response or failure from a ready peer, for one of this node's sync requests. */
  onResponse(peer: Peer, frame: MessageFrame): void {
    this.onResponseFields(peer, frame.kind, frame.topic, frame.payload, frame.syncToken);
  }

  /** `onResponse` from the frame's fields (no frame object). */
  onResponseFields(peer: Peer, kind: MessageKind, topic: string, payload: Payload, syncToken: string | undefined): void {
    const counters = this.ctx.counters;
    const ok = kind === FrameKind.SyncResponse;
    if (ok) counters.syncResponsesReceived++;
    else counters.syncFailuresReceived++;
    const delivered = ok
      ? this.requests.deliverPayload(syncToken as string, peer.name, payload)
      : this.requests.deliver(syncToken as string, peer.name, {
          origin: peer.name,
          ok: false,
          error: String(payload),
          code: 'SYSTEMGE_ERR_SYNC_FAILURE',
        });
    if (!delivered) {
      counters.unknownTokenResponses++;
      this.ctx.logger.debug({ peer: peer.name, topic }, 'response for an unknown or settled sync token ignored');
    }
  }

  /** A connection's buffer went below its high-water mark, or a peer left. */
  onDrain(): void {
    if (this.drainWaiters.length === 0 || !this.n.peers.writable) return;
    this.resolveDrainWaiters();
  }

  resolveDrainWaiters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }

  drained(): Promise<void> {
    if (this.n.peers.writable || this.ctx.status() === 'stopped') return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }
}
