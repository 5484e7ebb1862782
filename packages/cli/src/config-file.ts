import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import type { TSchema } from '@sinclair/typebox';
import { isLoopbackHost } from '@systemge/access';
import { type ConfigIssue, nodeConfigDataIssues, schemaIssues } from '@systemge/node';
import { parseDocument } from 'yaml';
import { codeFrame, lineAndColumn } from './code-frame.js';
import { ConfigFileError } from './errors.js';
import { isFileSchema, NODE_FIELDS, type SystemgeFile, SystemgeFileSchema } from './file-schema.js';
import { discoveryPolicy, preflightIssues } from './system-parts.js';

export type {
  CommandsFileConfig,
  DashboardFileConfig,
  DashboardHTTPSFileConfig,
  DashboardLinkFileConfig,
  DiscoveryFileConfig,
  HTTPFileConfig,
  HTTPSFileConfig,
  NodeFileConfig,
  SystemgeFile,
  TransportFileConfig,
  WebSocketFileConfig,
} from './file-schema.js';

/** A validated file, with the absolute paths it refers to. */
export interface LoadedConfig {
  /** Absolute path of the file. */
  file: string;
  dir: string;
  config: SystemgeFile;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const join = (base: string, key: string | number): string =>
  typeof key === 'number' ? `${base}[${key}]` : base === '' ? key : `${base}.${key}`;

/** Replaces string values of the form `${NAME}` with environment variables; an unset one is an issue. */
function substituteEnv(value: unknown, path: string, env: NodeJS.ProcessEnv, issues: ConfigIssue[]): unknown {
  if (typeof value === 'string') {
    const match = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(value);
    if (match === null) return value;
    const name = match[1] as string;
    const replacement = Object.hasOwn(env, name) ? env[name] : undefined;
    if (replacement === undefined) {
      issues.push({ path, message: `environment variable ${name} is not set` });
      return value;
    }
    return replacement;
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, join(path, i), env, issues));
  if (isRecord(value)) {
    // fromEntries defines own properties: a `__proto__` key stays a field (and is refused as unknown).
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteEnv(v, join(path, k), env, issues)]));
  }
  return value;
}

/** Calls `visit` for every value of `value` that `schema` marks as a file name. */
function eachFile(schema: TSchema, value: unknown, path: string, visit: (file: string, path: string) => void): void {
  if (isFileSchema(schema) && typeof value === 'string') visit(value, path);
  const s = schema as { properties?: Record<string, TSchema>; items?: TSchema; anyOf?: TSchema[] };
  if (s.properties !== undefined && isRecord(value)) {
    for (const [key, sub] of Object.entries(s.properties)) if (Object.hasOwn(value, key)) eachFile(sub, value[key], join(path, key), visit);
  }
  if (s.items !== undefined && Array.isArray(value)) value.forEach((v, i) => eachFile(s.items as TSchema, v, join(path, i), visit));
  for (const variant of s.anyOf ?? []) eachFile(variant, value, path, visit);
}

/** A discovery entry's cross-field rules: URLs of etcd endpoints, TLS pairs, the port A/AAAA records lack. */
function discoveryIssues(
  discovery: SystemgeFile['nodes'][number]['discovery'],
  base: string,
  fail: (path: string, message: string) => void,
): void {
  if (discovery?.kind === 'etcd') {
    discovery.endpoints.forEach((endpoint, i) => {
      let url: URL | undefined;
      try {
        url = new URL(endpoint);
      } catch {
        fail(`${base}.endpoints[${i}]`, `"${endpoint}" is not a URL; write it as http://host:2379 or https://host:2379`);
        return;
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:')
        fail(`${base}.endpoints[${i}]`, `"${endpoint}" is not http:// or https://`);
      else if (url.protocol === 'http:' && discovery.tls !== undefined)
        fail(`${base}.endpoints[${i}]`, `"${endpoint}" is plain http:// but ${base}.tls is set: use https://`);
    });
    const tls = discovery.tls;
    if (tls !== undefined && (tls.certFile === undefined) !== (tls.keyFile === undefined))
      fail(`${base}.tls.${tls.certFile === undefined ? 'certFile' : 'keyFile'}`, 'a client certificate needs both certFile and keyFile');
  }
  if (discovery?.kind === 'dns' && discovery.type !== 'SRV' && discovery.port === undefined)
    fail(`${base}.port`, `${discovery.type ?? 'A'} records carry no port: set port (or use type "SRV")`);
}

/** Everything that spans fields or needs the file system, on a file that passed the schema. */
function fileIssues(config: SystemgeFile, dir: string, ok: (part: string) => boolean): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const fail = (path: string, message: string): void => {
    issues.push({ path, message });
  };
  const seenFiles = new Set<string>();
  eachFile(SystemgeFileSchema, config, '', (file, path) => {
    if (seenFiles.has(path) || !ok(/^nodes\[\d+\]|^dashboard/.exec(path)?.[0] ?? '')) return;
    seenFiles.add(path);
    const full = resolve(dir, file);
    if (!existsSync(full) || !statSync(full).isFile()) fail(path, `file not found: ${full}`);
  });
  const transportNeedsCert = (t: SystemgeFile['nodes'][number]['transport'], path: string): void => {
    if (t?.kind === 'tls' && (t.certFile === undefined || t.keyFile === undefined))
      fail(path, 'a listening TLS node needs certFile and keyFile');
  };
  const names = new Map<string, number>();
  const ports = new Map<number, string>();
  const claim = (port: number | undefined, path: string): void => {
    if (port === undefined || port === 0) return;
    const other = ports.get(port);
    if (other !== undefined) fail(path, `port ${port} is also used by ${other}`);
    else ports.set(port, path);
  };
  config.nodes.forEach((node, i) => {
    const base = `nodes[${i}]`;
    if (!ok(base)) return;
    const first = names.get(node.name);
    if (first !== undefined) fail(`${base}.name`, `duplicate node name "${node.name}" (also nodes[${first}].name)`);
    else names.set(node.name, i);
    if (node.listen !== false) transportNeedsCert(node.transport, `${base}.transport`);
    const ws = node.websocket;
    if (ws?.sharePort === true && node.http === undefined) fail(`${base}.websocket.sharePort`, 'needs an "http" section on the same node');
    if (ws?.sharePort === true && (ws.port !== undefined || ws.host !== undefined))
      fail(`${base}.websocket.port`, 'not allowed with sharePort: the HTTP port is used');
    const commands = node.commands;
    const host = node.listen === false ? undefined : (node.listen?.host ?? '127.0.0.1');
    const auth = node.auth;
    const tokens = auth?.token !== undefined || Object.keys(auth?.peerTokens ?? {}).length > 0 || auth?.requireCertificateName === true;
    if (commands?.remote === true && host !== undefined && !isLoopbackHost(host) && !tokens && commands.allowUnauthenticated !== true) {
      fail(
        `${base}.commands.remote`,
        `any peer that reaches ${host} could run this node's commands: set auth.token (or auth.peerTokens, or auth.requireCertificateName with TLS client certificates), listen on a loopback host, ` +
          'or set commands.allowUnauthenticated: true when the TLS transport verifies client certificates',
      );
    }
    discoveryIssues(node.discovery, `${base}.discovery`, fail);
    if (node.listen !== false) claim(node.listen?.port, `${base}.listen.port`);
    claim(node.http?.port, `${base}.http.port`);
    if (ws?.sharePort !== true) claim(ws?.port, `${base}.websocket.port`);
  });
  if (ok('dashboard')) {
    transportNeedsCert(config.dashboard?.systemge?.transport, 'dashboard.systemge.transport');
    claim(config.dashboard?.port, 'dashboard.port');
    claim(config.dashboard?.systemge?.port, 'dashboard.systemge.port');
  }
  return issues;
}

/** @systemge/node's own rules (cross-field ones included) on each node entry, at its path in the file. */
function nodeIssues(content: unknown): ConfigIssue[] {
  const nodes = isRecord(content) && Array.isArray(content.nodes) ? content.nodes : [];
  return nodes.flatMap((node, i) => {
    if (!isRecord(node)) return [];
    const data: Record<string, unknown> = {};
    for (const key of NODE_FIELDS) if (Object.hasOwn(node, key)) data[key] = node[key];
    // The node checks the policy part of `discovery`; the source's own fields are the file's.
    if (isRecord(data.discovery)) data.discovery = discoveryPolicy(data.discovery);
    return nodeConfigDataIssues(data).map((issue) => ({ path: join(`nodes[${i}]`, issue.path), message: issue.message }));
  });
}

/**
 * Validates parsed file content and runs every check `systemge start` makes before binding a port.
 * Throws one `ConfigFileError` listing every problem, each with its field path.
 */
export function validateConfig(data: unknown, file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const full = resolve(file);
  const dir = dirname(full);
  const issues: ConfigIssue[] = [];
  const content = substituteEnv(data, '', env, issues);
  const found = new Set(issues.map((i) => i.path));
  const add = (more: ConfigIssue[]): void => {
    for (const issue of more) {
      if (found.has(issue.path)) continue;
      found.add(issue.path);
      issues.push(issue);
    }
  };
  add(isRecord(content) ? schemaIssues(SystemgeFileSchema, content) : [{ path: '', message: 'expected an object with "nodes"' }]);
  add(nodeIssues(content));
  // The checks that need whole, well-typed parts run on every node (and the dashboard) the schema passed.
  const whole = issues.some(
    (i) => i.path === '' || i.path === 'nodes' || (!i.path.startsWith('nodes[') && !i.path.startsWith('dashboard')),
  );
  const ok = (part: string): boolean =>
    !whole && part !== '' && !issues.some((i) => i.path === part || i.path.startsWith(`${part}.`) || i.path.startsWith(`${part}[`));
  const config = content as SystemgeFile & { $schema?: string };
  const loaded: LoadedConfig = { file: full, dir, config };
  if (!whole) {
    add(fileIssues(config, dir, ok));
    // Parts with a missing file are not built: `ok` sees the issues just added.
    add(preflightIssues(loaded, ok));
  }
  if (issues.length > 0) throw ConfigFileError.of(full, issues);
  delete config.$schema;
  return loaded;
}

/** `offset`, moved past spaces when it points into a line's leading indentation. */
function firstNonBlank(text: string, offset: number): number {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  if (text.slice(lineStart, offset).trim() !== '') return offset;
  let at = offset;
  while (text[at] === ' ' || text[at] === '\t') at++;
  return text[at] === '\n' || at >= text.length ? offset : at;
}

/** The parsed content of a JSON or YAML file; a syntax error names the absolute file and shows where. */
function parse(full: string, text: string): unknown {
  const yaml = ['.yaml', '.yml'].includes(extname(full).toLowerCase());
  if (yaml) {
    const document = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
    if (document.errors.length > 0) {
      throw ConfigFileError.of(
        full,
        document.errors.map((error) => {
          // An indentation error points at the start of the line: show the first character that is out of place.
          const { line, column } = lineAndColumn(text, firstNonBlank(text, error.pos[0]));
          const what = error.message.replace(/ at line \d+, column \d+:?[\s\S]*$/, '');
          return { path: '', message: `not valid YAML: ${what} (line ${line}, column ${column})\n${codeFrame(text, line, column)}` };
        }),
      );
    }
    return document.toJS();
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    const message = (cause as Error).message;
    const at = /at position (\d+)/.exec(message);
    const offset = at === null ? text.length : Number(at[1]);
    const { line, column } = lineAndColumn(text, offset);
    const what = message.replace(/ in JSON at position \d+.*$/, '').replace(/ \(line \d+ column \d+\)$/, '');
    throw new ConfigFileError(full, '', `not valid JSON: ${what} (line ${line}, column ${column})\n${codeFrame(text, line, column)}`, {
      cause,
    });
  }
}

/** Reads and validates a JSON or YAML configuration file. Errors name the file by its absolute path. */
export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const full = resolve(file);
  let text: string;
  try {
    text = readFileSync(full, 'utf8');
  } catch (cause) {
    throw new ConfigFileError(full, '', `cannot read the file: ${(cause as Error).message}`, { cause });
  }
  return validateConfig(parse(full, text), full, env);
}
