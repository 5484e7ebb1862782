import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import {
  assertOpen,
  checkMemberRecord,
  type Discovery,
  DiscoveryStateError,
  DiscoveryUnavailableError,
  type Logger,
  type Member,
  type MemberRecord,
  MembershipView,
  ViewDiscovery,
  plainMetadata,
} from '@systemge/node';

/** Which records list the members. */
export type DNSRecordType = 'A' | 'AAAA' | 'A+AAAA' | 'SRV';

export interface DNSDiscoveryOptions {
  /**
   * The name to resolve: a Kubernetes headless service (`systemge.shop.svc.cluster.local`) for
   * A/AAAA, or its SRV name (`_systemge._tcp.systemge.shop.svc.cluster.local`) for SRV.
   */
  name: string;
  /** Record type. Default `A`. */
  type?: DNSRecordType;
  /** The Systemge port of every member, for A/AAAA (SRV records carry their own). */
  port?: number;
  /** DNS servers, `host` or `host:port` (`[::1]:5353` for IPv6). Default: the system's. */
  servers?: readonly string[];
  /** Re-resolve period, ms. Default 5000. */
  intervalMs?: number;
  /** Timeout of one DNS query, ms (per try). Default 2000. */
  timeoutMs?: number;
  /** Tries per query. Default 2. */
  tries?: number;
  /** Logger for degraded/recovered and skipped records. Default: silent. */
  logger?: Logger;
}

/** Answers that mean "no such members now", not "the server is unreachable". */
const EMPTY_ANSWER = new Set(['ENOTFOUND', 'ENODATA', 'NOTFOUND', 'NODATA']);

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function memberAt(host: string, port: number): Member {
  const id = isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
  return { id, name: undefined, instance: undefined, host, port, topics: [], metadata: plainMetadata(undefined) };
}

function checkInteger(value: number | undefined, fallback: number, min: number, max: number, name: string): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min || v > max)
    throw new DiscoveryStateError(`${name} is ${String(v)}; must be an integer from ${min} to ${max}`);
  return v;
}

class DNSDiscovery extends ViewDiscovery {
  readonly kind = 'dns';
  private readonly resolver: Resolver;
  private readonly type: DNSRecordType;
  private readonly port: number | undefined;
  private readonly intervalMs: number;
  private readonly target: string;
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private pending: Promise<void> | undefined;

  constructor(private readonly options: DNSDiscoveryOptions) {
    super(new MembershipView('dns', options.logger));
    if (typeof options.name !== 'string' || options.name === '') throw new DiscoveryStateError('dnsDiscovery needs a name to resolve');
    this.type = options.type ?? 'A';
    if (!['A', 'AAAA', 'A+AAAA', 'SRV'].includes(this.type))
      throw new DiscoveryStateError(`record type ${JSON.stringify(this.type)} is not A, AAAA, A+AAAA or SRV`);
    if (this.type !== 'SRV') {
      if (options.port === undefined) throw new DiscoveryStateError(`${this.type} records carry no port: give dnsDiscovery a port`);
      this.port = checkInteger(options.port, 0, 1, 65535, 'port');
    }
    this.intervalMs = checkInteger(options.intervalMs, 5000, 10, 2_147_483_647, 'intervalMs');
    const timeout = checkInteger(options.timeoutMs, 2000, 1, 2_147_483_647, 'timeoutMs');
    const tries = checkInteger(options.tries, 2, 1, 100, 'tries');
    this.resolver = new Resolver({ timeout, tries });
    if (options.servers !== undefined && options.servers.length > 0) {
      try {
        this.resolver.setServers([...options.servers]);
      } catch (error) {
        throw new DiscoveryStateError(`DNS servers ${JSON.stringify(options.servers)} are not addresses: ${(error as Error).message}`);
      }
    }
    this.target = `${this.resolver.getServers().join(',')} (${this.type} ${options.name})`;
  }

  async start(self?: MemberRecord): Promise<void> {
    assertOpen(this.view, this.kind);
    if (self !== undefined) checkMemberRecord(self);
    if (this.running) throw new DiscoveryStateError('dns discovery is already started');
    this.view.setSelf(self);
    this.running = true;
    await this.refresh();
  }

  /** Resolves once and applies the answer; then schedules the next round. */
  private refresh(): Promise<void> {
    const round = this.resolveMembers().then(
      (members) => {
        if (!this.running) return;
        this.view.replaceAll(members);
        this.view.markRecovered();
      },
      (error: unknown) => {
        if (!this.running) return;
        const detail = error instanceof Error ? error.message : String(error);
        this.view.markDegraded(new DiscoveryUnavailableError('dns', this.target, detail, { cause: error }));
      },
    );
    this.pending = round.finally(() => {
      this.pending = undefined;
      if (this.running) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          void this.refresh();
        }, this.intervalMs);
      }
    });
    return this.pending;
  }

  /** The members the records give now; rejects when the server cannot be asked. */
  private async resolveMembers(): Promise<Member[]> {
    const name = this.options.name;
    if (this.type === 'SRV') {
      const records = await this.orEmpty(this.resolver.resolveSrv(name));
      const members: Member[] = [];
      for (const record of records) {
        if (record.name === '' || record.name === '.') {
          this.view.skip('no-target', `SRV record of ${name} has no target (service not offered)`);
          continue;
        }
        if (!Number.isInteger(record.port) || record.port < 1 || record.port > 65535) {
          this.view.skip('invalid-port', `SRV record of ${name} points at ${record.name} port ${record.port}`);
          continue;
        }
        const addresses = isIP(record.name) !== 0 ? [record.name] : await this.addressesOf(record.name);
        if (addresses.length === 0) {
          this.view.skip('unresolved-target', `SRV target ${record.name} of ${name} has no address`);
          continue;
        }
        for (const address of addresses) members.push(memberAt(address, record.port));
      }
      return members;
    }
    const addresses = await this.addressesOf(name);
    return addresses.map((address) => memberAt(address, this.port as number));
  }

  private async addressesOf(host: string): Promise<string[]> {
    const v4 = this.type === 'AAAA' ? [] : await this.orEmpty(this.resolver.resolve4(host));
    const v6 = this.type === 'A' ? [] : await this.orEmpty(this.resolver.resolve6(host));
    return [...v4, ...v6];
  }

  /** A name without records (NXDOMAIN, NODATA) is an empty member list, not an outage. */
  private async orEmpty<T>(query: Promise<T[]>): Promise<T[]> {
    try {
      return await query;
    } catch (error) {
      if (EMPTY_ANSWER.has(errorCode(error) ?? '')) return [];
      throw error;
    }
  }

  /** DNS records are not written by the nodes: only this node's own address (left out) is taken. */
  async update(self: MemberRecord): Promise<void> {
    checkMemberRecord(self);
    this.view.setSelf(self);
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.resolver.cancel();
    await this.pending;
    this.view.clear();
  }
}

/**
 * Discovery from DNS: the members are the addresses of A/AAAA records (with the given `port`) or
 * the targets of SRV records, re-resolved every `intervalMs`. DNS gives only addresses, so
 * `Member.name` is undefined: the handshake tells each member's name. A server that does not
 * answer makes the discovery `degraded` (the last list stays); a name without records is an empty list.
 */
export function dnsDiscovery(options: DNSDiscoveryOptions): Discovery {
  return new DNSDiscovery(options);
}
