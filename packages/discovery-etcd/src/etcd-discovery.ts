import {
  assertOpen,
  checkMemberRecord,
  type Discovery,
  DiscoveryStateError,
  type Logger,
  type Member,
  type MemberRecord,
  MembershipView,
  ViewDiscovery,
  silentLogger,
} from '@systemge/node';
import { EtcdGateway, type EtcdTLSOptions, type GatewayStream } from './etcd-gateway.js';
import { decodeRecord, encodeRecord } from './member-record.js';

export interface EtcdDiscoveryOptions {
  /** etcd client URLs, e.g. `['http://10.0.0.1:2379', 'http://10.0.0.2:2379']`; tried in turn. */
  endpoints: readonly string[];
  /** Cluster name: members of one cluster see only each other. Default `default`. */
  cluster?: string;
  /** Key prefix; members live under `<prefix>/<cluster>/members/<name>`. Default `/systemge`. */
  prefix?: string;
  /** Lease TTL, s: a member whose process died disappears this long after its last keep-alive. Default 10, at least 2. */
  leaseTtlSeconds?: number;
  /** Keep-alive period, ms. Default a third of the lease TTL. */
  keepAliveIntervalMs?: number;
  /** Timeout of one etcd request, ms. Default 5000. */
  requestTimeoutMs?: number;
  /** Longest wait between reconnect attempts while etcd is unreachable, ms. Default 5000 (starts at 200). */
  maxRetryDelayMs?: number;
  /** TLS settings for `https://` endpoints. */
  tls?: EtcdTLSOptions;
  /** etcd user and password (etcd's auth enabled). */
  auth?: { username: string; password: string };
  /** Logger for degraded/recovered and skipped records. Default: silent. */
  logger?: Logger;
}

interface KeyValue {
  key?: string;
  value?: string;
  mod_revision?: string;
}

interface WatchMessage {
  result?: {
    header?: { revision?: string };
    created?: boolean;
    canceled?: boolean;
    compact_revision?: string;
    cancel_reason?: string;
    events?: { type?: string; kv?: KeyValue }[];
  };
  error?: { message?: string };
}

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
const unb64 = (text: string | undefined): string => Buffer.from(text ?? '', 'base64').toString('utf8');

/** The key just past every key that starts with `prefix` (etcd's range end for a prefix). */
function prefixEnd(prefix: string): string {
  const bytes = Buffer.from(prefix, 'utf8');
  for (let i = bytes.length - 1; i >= 0; i -= 1) {
    if ((bytes[i] as number) < 0xff) {
      bytes[i] = (bytes[i] as number) + 1;
      return bytes.subarray(0, i + 1).toString('base64');
    }
  }
  return Buffer.from([0]).toString('base64');
}

function positive(value: number | undefined, fallback: number, min: number, name: string): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v < min || v > 2_147_483_647)
    throw new DiscoveryStateError(`${name} is ${String(v)}; must be a number from ${min} to 2147483647`);
  return v;
}

class EtcdDiscovery extends ViewDiscovery {
  readonly kind = 'etcd';
  private readonly logger: Logger;
  private readonly gateway: EtcdGateway;
  private readonly membersPrefix: string;
  private readonly ttl: number;
  private readonly keepAliveMs: number;
  private readonly maxRetryMs: number;
  private self: MemberRecord | undefined;
  private leaseId: string | undefined;
  private running = false;
  private session: Promise<void> | undefined;
  private watch: GatewayStream | undefined;
  private keepAliveTimer: NodeJS.Timeout | undefined;
  private retryTimer: { timer: NodeJS.Timeout; resolve: () => void } | undefined;

  constructor(options: EtcdDiscoveryOptions) {
    super(new MembershipView('etcd', options.logger ?? silentLogger));
    if (!Array.isArray(options.endpoints) || options.endpoints.length === 0)
      throw new DiscoveryStateError('etcdDiscovery needs at least one endpoint');
    for (const endpoint of options.endpoints) {
      let url: URL;
      try {
        url = new URL(endpoint);
      } catch {
        throw new DiscoveryStateError(`etcd endpoint ${JSON.stringify(endpoint)} is not a URL`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:')
        throw new DiscoveryStateError(`etcd endpoint ${endpoint} is not http:// or https://`);
    }
    const cluster = options.cluster ?? 'default';
    if (cluster === '' || cluster.includes('/'))
      throw new DiscoveryStateError(`cluster ${JSON.stringify(cluster)} must be non-empty and without "/"`);
    const prefix = (options.prefix ?? '/systemge').replace(/\/+$/, '');
    this.membersPrefix = `${prefix}/${cluster}/members/`;
    this.ttl = Math.ceil(positive(options.leaseTtlSeconds, 10, 2, 'leaseTtlSeconds'));
    this.keepAliveMs = positive(options.keepAliveIntervalMs, (this.ttl * 1000) / 3, 100, 'keepAliveIntervalMs');
    this.maxRetryMs = positive(options.maxRetryDelayMs, 5000, 10, 'maxRetryDelayMs');
    const requestTimeoutMs = positive(options.requestTimeoutMs, 5000, 10, 'requestTimeoutMs');
    this.logger = options.logger ?? silentLogger;
    this.gateway = new EtcdGateway({ endpoints: options.endpoints, tls: options.tls, auth: options.auth, requestTimeoutMs });
  }

  /** The key this node's record is stored under. */
  keyOf(name: string): string {
    return `${this.membersPrefix}${name}`;
  }

  async start(self?: MemberRecord): Promise<void> {
    assertOpen(this.view, this.kind);
    if (self !== undefined) checkMemberRecord(self);
    if (self?.name.includes('/')) throw new DiscoveryStateError(`node name "${self.name}" cannot be an etcd member name: it contains "/"`);
    if (this.running) throw new DiscoveryStateError('etcd discovery is already started');
    this.self = self;
    this.view.setSelf(self);
    this.running = true;
    let first!: () => void;
    const firstOutcome = new Promise<void>((resolve) => {
      first = resolve;
    });
    this.session = this.run(first);
    await firstOutcome;
  }

  /** Connects, registers, lists and watches until stopped; every failure marks degraded and starts over. */
  private async run(first: () => void): Promise<void> {
    let delay = 200;
    while (this.running) {
      try {
        if (this.self !== undefined) await this.register();
        const revision = await this.list();
        if (!this.running) break;
        this.view.markRecovered();
        first();
        delay = 200;
        const watchedAt = Date.now();
        try {
          await this.watchFrom(revision + 1n);
        } catch (error) {
          if (!this.running) break;
          // A broken watch alone is no outage: the gateway moved on to the next endpoint, and
          // registering and listing there (which try every endpoint) tell whether etcd answers.
          this.logger.debug({ err: error }, 'etcd watch broke; reconnecting');
          if (Date.now() - watchedAt < 1000) await this.pause(delay);
          delay = Math.min(delay * 2, this.maxRetryMs);
        }
      } catch (error) {
        if (!this.running) break;
        this.view.markDegraded(error instanceof Error ? error : new Error(String(error)));
        first();
        await this.pause(delay);
        delay = Math.min(delay * 2, this.maxRetryMs);
      }
    }
    first();
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.retryTimer = undefined;
        resolve();
      }, ms);
      this.retryTimer = { timer, resolve };
    });
  }

  /** Grants a lease (unless the current one still lives) and writes this node's record under it. */
  private async register(): Promise<void> {
    const self = this.self as MemberRecord;
    if (this.leaseId === undefined) {
      const lease = await this.gateway.post<{ ID?: string; TTL?: string }>('/v3/lease/grant', { TTL: this.ttl });
      if (lease.ID === undefined) throw new Error('lease grant answered without an ID');
      this.leaseId = lease.ID;
    }
    await this.gateway.post('/v3/kv/put', { key: b64(this.keyOf(self.name)), value: b64(encodeRecord(self)), lease: this.leaseId });
    this.scheduleKeepAlive();
  }

  private scheduleKeepAlive(): void {
    if (this.keepAliveTimer !== undefined || !this.running) return;
    this.keepAliveTimer = setTimeout(() => {
      this.keepAliveTimer = undefined;
      void this.keepAlive();
    }, this.keepAliveMs);
  }

  private async keepAlive(): Promise<void> {
    const leaseId = this.leaseId;
    if (!this.running || leaseId === undefined) return;
    try {
      const answer = await this.gateway.post<{ result?: { TTL?: string } }>('/v3/lease/keepalive', { ID: leaseId });
      if (!this.running) return;
      if (Number(answer.result?.TTL ?? 0) <= 0) {
        // The lease expired while etcd was unreachable: the record is gone, register again.
        this.leaseId = undefined;
        this.view.markDegraded(new Error(`lease ${leaseId} expired; registering again`));
        this.watch?.abort();
        this.restartWatchLoop();
        return;
      }
      this.scheduleKeepAlive();
    } catch (error) {
      if (!this.running) return;
      this.view.markDegraded(error instanceof Error ? error : new Error(String(error)));
      // The watch may hang on a dead member: start over on the next endpoint.
      this.watch?.abort();
      this.restartWatchLoop();
    }
  }

  async update(self: MemberRecord): Promise<void> {
    checkMemberRecord(self);
    if (this.self !== undefined && self.name !== this.self.name) {
      throw new DiscoveryStateError(`update() cannot rename "${this.self.name}" to "${self.name}"; stop and start again`);
    }
    this.self = self;
    this.view.setSelf(self);
    // Without a lease (not registered yet, or etcd unreachable) the session loop writes the new record when it registers.
    if (!this.running || this.leaseId === undefined) return;
    try {
      await this.gateway.post('/v3/kv/put', { key: b64(this.keyOf(self.name)), value: b64(encodeRecord(self)), lease: this.leaseId });
    } catch (error) {
      this.view.markDegraded(error instanceof Error ? error : new Error(String(error)));
      this.watch?.abort();
      this.restartWatchLoop();
    }
  }

  /** Makes the session loop go round again (it re-registers, which re-arms the keep-alive). */
  private restartWatchLoop(): void {
    this.watchInterrupted = true;
    const retry = this.retryTimer;
    if (retry !== undefined) {
      clearTimeout(retry.timer);
      this.retryTimer = undefined;
      retry.resolve();
    }
  }

  private watchInterrupted = false;

  /** Lists the members; returns the store revision of the snapshot. */
  private async list(): Promise<bigint> {
    const answer = await this.gateway.post<{ header?: { revision?: string }; kvs?: KeyValue[] }>('/v3/kv/range', {
      key: b64(this.membersPrefix),
      range_end: prefixEnd(this.membersPrefix),
    });
    const members: Member[] = [];
    for (const kv of answer.kvs ?? []) {
      const member = this.decode(kv);
      if (member !== undefined) members.push(member);
    }
    this.view.replaceAll(members);
    return BigInt(answer.header?.revision ?? '0');
  }

  private decode(kv: KeyValue): Member | undefined {
    const key = unb64(kv.key);
    const name = key.slice(this.membersPrefix.length);
    if (!key.startsWith(this.membersPrefix) || name === '' || name.includes('/')) {
      this.view.skip('foreign-key', `key ${JSON.stringify(key)} is not ${this.membersPrefix}<name>`);
      return undefined;
    }
    const decoded = decodeRecord(name, unb64(kv.value));
    if ('reason' in decoded) {
      this.view.skip(decoded.reason, decoded.detail);
      return undefined;
    }
    return decoded.member;
  }

  /** Follows changes from `revision` until the stream fails (rejects) or is interrupted (resolves). */
  private async watchFrom(revision: bigint): Promise<void> {
    this.watchInterrupted = false;
    let resync = false;
    const stream = await this.gateway.stream(
      '/v3/watch',
      { create_request: { key: b64(this.membersPrefix), range_end: prefixEnd(this.membersPrefix), start_revision: revision.toString() } },
      (raw) => {
        const message = raw as WatchMessage;
        if (message.error !== undefined) throw new Error(`watch error: ${message.error.message ?? 'unknown'}`);
        const result = message.result;
        if (result === undefined) return;
        if (result.canceled === true || (result.compact_revision !== undefined && result.compact_revision !== '0')) {
          // Compacted past our revision, or cancelled: list again.
          resync = true;
          this.watch?.abort();
          return;
        }
        for (const event of result.events ?? []) {
          const key = unb64(event.kv?.key);
          const name = key.slice(this.membersPrefix.length);
          if (event.type === 'DELETE') {
            this.view.remove(name);
          } else if (event.kv !== undefined) {
            const member = this.decode(event.kv);
            if (member !== undefined) this.view.upsert(member);
            else this.view.remove(name);
          }
        }
      },
    );
    this.watch = stream;
    if (this.watchInterrupted || !this.running) stream.abort();
    try {
      await stream.done;
    } finally {
      this.watch = undefined;
    }
    if (resync || this.watchInterrupted) return;
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    clearTimeout(this.keepAliveTimer);
    this.keepAliveTimer = undefined;
    this.watch?.abort();
    this.restartWatchLoop();
    await this.session;
    this.session = undefined;
    const leaseId = this.leaseId;
    this.leaseId = undefined;
    if (leaseId !== undefined) {
      try {
        // Revoking deletes the record at once: the others see `left` now, not after the TTL.
        await this.gateway.post('/v3/lease/revoke', { ID: leaseId });
      } catch {
        // etcd unreachable: the lease expires by itself after its TTL.
      }
    }
    this.view.clear();
  }
}

/**
 * Discovery through etcd: `start(self)` writes this node's record under a lease kept alive
 * every `keepAliveIntervalMs`, lists `<prefix>/<cluster>/members/` and watches it. `stop()`
 * revokes the lease, so the others see `left` at once; a crashed node's record expires with
 * its lease. While etcd is unreachable the discovery is `degraded`, keeps its last member list
 * and retries; records that are not members are skipped and counted (`skipped()`).
 */
export function etcdDiscovery(options: EtcdDiscoveryOptions): Discovery {
  return new EtcdDiscovery(options);
}
