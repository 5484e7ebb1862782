import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { checkDashboardOptions, type DashboardOptions } from '@systemge/dashboard';
import { httpComponent, type HTTPComponent, type HTTPComponentOptions } from '@systemge/http';
import { isLoopbackHost } from '@systemge/access';
import { dnsDiscovery } from '@systemge/discovery-dns';
import { etcdDiscovery } from '@systemge/discovery-etcd';
import { type ConnectTo, type Discovery, type Logger, type NodeDiscoveryOptions, silentLogger, staticDiscovery } from '@systemge/node';
import type { Transport } from '@systemge/protocol';
import { tcpTransport } from '@systemge/transport-tcp';
import { tlsTransport } from '@systemge/transport-tls';
import { websocketComponent, type WebSocketComponent, type WebSocketComponentOptions } from '@systemge/websocket';
import type { DashboardFileConfig, DiscoveryFileConfig, LoadedConfig, NodeFileConfig, TransportFileConfig } from './config-file.js';
import { DISCOVERY_POLICY_FIELDS } from './file-schema.js';

/*
 * The parts `systemge start` builds from a file — transports, HTTP and WebSocket components,
 * dashboard options, link transports — built the same way for `systemge validate`, which
 * constructs them (reading and parsing every certificate) and stops short of binding ports.
 */

/** Option names of the libraries → field names of the config file. */
const FILE_FIELD: Readonly<Record<string, string>> = { cert: 'certFile', key: 'keyFile', ca: 'caFile' };

function fileField(option: string): string {
  return FILE_FIELD[option] ?? option;
}

export function transportFor(config: TransportFileConfig | undefined, dir: string, logger: Logger): Transport {
  if (config === undefined || config.kind === 'tcp') {
    return tcpTransport({ noDelay: config?.noDelay, keepAliveMs: config?.keepAliveMs });
  }
  const file = (f: string | undefined): string | undefined => (f === undefined ? undefined : resolve(dir, f));
  return tlsTransport({
    certFile: file(config.certFile),
    keyFile: file(config.keyFile),
    caFile: file(config.caFile),
    requestClientCert: config.requestClientCert,
    rejectUnauthorized: config.rejectUnauthorized,
    minVersion: config.minVersion,
    handshakeTimeoutMs: config.handshakeTimeoutMs,
    logger,
  });
}

/** The transport a node's dashboard link uses: its own `transport`, else the node's. */
export function linkTransportConfig(spec: NodeFileConfig): TransportFileConfig | undefined {
  return spec.dashboard?.transport ?? spec.transport;
}

export function readTLS(https: { certFile: string; keyFile: string } | undefined, dir: string): { cert: string; key: string } | undefined {
  if (https === undefined) return undefined;
  return { cert: readFileSync(resolve(dir, https.certFile), 'utf8'), key: readFileSync(resolve(dir, https.keyFile), 'utf8') };
}

export function httpOptionsFor(spec: NonNullable<NodeFileConfig['http']>, dir: string): HTTPComponentOptions {
  return { ...spec, https: readTLS(spec.https, dir) };
}

export function websocketOptionsFor(
  spec: NonNullable<NodeFileConfig['websocket']>,
  dir: string,
  http: HTTPComponent | undefined,
): WebSocketComponentOptions {
  const { sharePort, https, ...rest } = spec;
  return { ...rest, http: sharePort === true ? http : undefined, https: readTLS(https, dir) };
}

export function dashboardOptionsFor(d: DashboardFileConfig, dir: string, logger: Logger): DashboardOptions {
  const read = (f: string): string => readFileSync(resolve(dir, f), 'utf8');
  return {
    host: d.host,
    port: d.port,
    token: d.token,
    allowedOrigins: d.allowedOrigins,
    metricsIntervalMs: d.metricsIntervalMs,
    https:
      d.https === undefined
        ? undefined
        : {
            cert: read(d.https.certFile),
            key: read(d.https.keyFile),
            ca: d.https.caFile === undefined ? undefined : read(d.https.caFile),
            requestClientCert: d.https.requestClientCert,
            minVersion: d.https.minVersion,
          },
    systemge: { transport: transportFor(d.systemge?.transport, dir, logger), host: d.systemge?.host, port: d.systemge?.port },
    logger,
  };
}

/** The fields of a `discovery` entry that are @systemge/node's own `discovery` config (`connectTo`, `advertiseHost`, …). */
export function discoveryPolicy(discovery: Record<string, unknown>): Record<string, unknown> {
  const policy: Record<string, unknown> = {};
  for (const key of DISCOVERY_POLICY_FIELDS) if (Object.hasOwn(discovery, key)) policy[key] = discovery[key];
  return policy;
}

/** The membership source a node's `discovery` entry names, built with its package (not started). */
export function discoverySourceFor(spec: DiscoveryFileConfig, dir: string, logger: Logger): Discovery {
  switch (spec.kind) {
    case 'etcd': {
      const read = (f: string | undefined): string | undefined => (f === undefined ? undefined : readFileSync(resolve(dir, f), 'utf8'));
      const tls = spec.tls;
      return etcdDiscovery({
        endpoints: spec.endpoints,
        cluster: spec.cluster,
        prefix: spec.prefix,
        leaseTtlSeconds: spec.leaseTtlSeconds,
        keepAliveIntervalMs: spec.keepAliveIntervalMs,
        requestTimeoutMs: spec.requestTimeoutMs,
        maxRetryDelayMs: spec.maxRetryDelayMs,
        tls:
          tls === undefined
            ? undefined
            : { ca: read(tls.caFile), cert: read(tls.certFile), key: read(tls.keyFile), servername: tls.servername },
        auth: spec.auth,
        logger,
      });
    }
    case 'dns':
      return dnsDiscovery({
        name: spec.name,
        type: spec.type,
        port: spec.port,
        servers: spec.servers,
        intervalMs: spec.intervalMs,
        timeoutMs: spec.timeoutMs,
        tries: spec.tries,
        logger,
      });
    case 'static':
      return staticDiscovery({ members: spec.members, logger });
  }
}

/** What `createNode(config, app, { discovery })` gets for a node's `discovery` entry. */
export function discoveryFor(spec: DiscoveryFileConfig | undefined, dir: string, logger: Logger): NodeDiscoveryOptions | undefined {
  if (spec === undefined) return undefined;
  return {
    source: discoverySourceFor(spec, dir, logger),
    connectTo: spec.connectTo as ConnectTo | undefined,
    advertiseHost: spec.advertiseHost,
    advertisePort: spec.advertisePort,
    metadata: spec.metadata,
  };
}

/** A problem `preflightIssues` found. */
interface Issue {
  path: string;
  message: string;
}

/** Runs `build`; a library's option error becomes an issue at `base` + the option's field, and undefined is returned. */
function at<T>(issues: Issue[], base: string, build: () => T, fieldOf: (option: string) => string = fileField): T | undefined {
  try {
    return build();
  } catch (error) {
    const e = error as { code?: string; option?: unknown; requirement?: unknown; message: string };
    if (typeof e.option !== 'string' || !/^SYSTEMGE_ERR_(TLS|HTTP|WS|DASHBOARD)_/.test(e.code ?? '')) throw error;
    const field = fieldOf(e.option);
    // The library's message names its own option; the path already names the file's field.
    const detail =
      typeof e.requirement === 'string' ? `must be ${e.requirement}` : e.message.replace(/^invalid [A-Za-z]+ option [^:]+: /, '');
    issues.push({ path: field === '' ? base : `${base}.${field}`, message: detail });
    return undefined;
  }
}

/** The dashboard's `token` is required off loopback: say so with the config file's field names. */
function dashboardCheck(issues: Issue[], options: DashboardOptions): void {
  try {
    at(
      issues,
      'dashboard',
      () => checkDashboardOptions(options),
      (option) => option.split('.').map(fileField).join('.'),
    );
  } catch (error) {
    const e = error as { code?: string; host?: string; listener?: string };
    if (e.code !== 'SYSTEMGE_ERR_DASHBOARD_TOKEN_REQUIRED') throw error;
    const field = e.listener === 'systemge' ? 'dashboard.systemge.host' : 'dashboard.host';
    issues.push({
      path: 'dashboard.token',
      message: `required: ${field} "${e.host}" is not a loopback address; set dashboard.token (e.g. "\${SYSTEMGE_DASHBOARD_TOKEN}") or listen on 127.0.0.1`,
    });
  }
}

/**
 * Every check `systemge start` makes before binding a port: transports and certificates, HTTP and
 * WebSocket options, dashboard options, and links that would send a token in clear text. Returns
 * every problem, each at the field of the file.
 */
export function preflightIssues(loaded: LoadedConfig, ok: (part: string) => boolean = () => true): Issue[] {
  const { config, dir } = loaded;
  const quiet: Logger = silentLogger;
  const issues: Issue[] = [];
  config.nodes.forEach((spec, i) => {
    const base = `nodes[${i}]`;
    if (!ok(base)) return;
    at(issues, `${base}.transport`, () => transportFor(spec.transport, dir, quiet));
    const http = spec.http === undefined ? undefined : at(issues, `${base}.http`, () => httpComponent(httpOptionsFor(spec.http!, dir)));
    if (spec.websocket !== undefined && (spec.websocket.sharePort !== true || http !== undefined)) {
      at(issues, `${base}.websocket`, () => websocketComponent(websocketOptionsFor(spec.websocket!, dir, http)) as WebSocketComponent);
    }
    if (spec.discovery !== undefined) {
      try {
        // Built to check it (certificates read, names and servers parsed), then closed: it never started.
        void discoverySourceFor(spec.discovery, dir, quiet).close();
      } catch (error) {
        if ((error as { code?: string }).code !== 'SYSTEMGE_ERR_DISCOVERY_STATE') throw error;
        issues.push({ path: `${base}.discovery`, message: (error as Error).message });
      }
    }
    const link = spec.dashboard;
    if (link !== undefined) {
      const own = link.transport !== undefined;
      if (own) at(issues, `${base}.dashboard.transport`, () => transportFor(linkTransportConfig(spec), dir, quiet));
      const kind = linkTransportConfig(spec)?.kind ?? 'tcp';
      if (link.token !== undefined && link.allowInsecure !== true && kind !== 'tls' && !isLoopbackHost(link.host)) {
        issues.push({
          path: `${base}.dashboard`,
          message:
            `the link would send ${base}.dashboard.token in clear text over "${kind}" to the non-loopback host "${link.host}": ` +
            `set ${base}.dashboard.transport (or ${base}.transport) to { "kind": "tls", ... }, or ${base}.dashboard.allowInsecure to true`,
        });
      }
    }
  });
  if (config.dashboard !== undefined && ok('dashboard')) {
    const options = at(issues, 'dashboard.systemge.transport', () => dashboardOptionsFor(config.dashboard!, dir, quiet));
    if (options !== undefined) dashboardCheck(issues, options);
  }
  return issues;
}
