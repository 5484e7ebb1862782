import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isLoopbackHost } from '@systemge/access';
import { InsecureTokenError, UsageError } from './errors.js';

/** How `systemge command` and `systemge repl` reach a dashboard. */
export interface DashboardAccess {
  url: string;
  token: string | undefined;
  ca: string | undefined;
  cert: string | undefined;
  key: string | undefined;
  allowInsecure: boolean;
}

export function readPEM(flag: string, file: string | undefined): string | undefined {
  if (file === undefined) return undefined;
  try {
    return readFileSync(file, 'utf8');
  } catch (cause) {
    throw new UsageError(`${flag}: cannot read ${file}: ${(cause as Error).message}`);
  }
}

/** A dashboard's answer: status and body (parsed when JSON). */
export interface DashboardAnswer {
  status: number;
  text: string;
  body: Record<string, unknown>;
}

/** Checks the URL and the token rule once; then sends JSON requests over http or https. */
export function dashboardClient(access: DashboardAccess): {
  origin: string;
  request(method: 'GET' | 'POST', path: string, body?: unknown): Promise<DashboardAnswer>;
} {
  let base: URL;
  try {
    base = new URL(access.url);
  } catch {
    throw new UsageError(`--dashboard must be a URL such as https://127.0.0.1:7070, got "${access.url}"`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:')
    throw new UsageError(`--dashboard must be an http:// or https:// URL, got "${access.url}"`);
  if ((access.cert === undefined) !== (access.key === undefined)) throw new UsageError('--cert and --key go together');
  if (access.token !== undefined && base.protocol === 'http:' && !access.allowInsecure && !isLoopbackHost(base.hostname)) {
    throw new InsecureTokenError(base.origin);
  }
  const tls =
    base.protocol === 'https:'
      ? { ca: readPEM('--ca', access.ca), cert: readPEM('--cert', access.cert), key: readPEM('--key', access.key) }
      : {};
  const send = base.protocol === 'https:' ? httpsRequest : httpRequest;
  return {
    origin: base.origin,
    request: (method, path, body) =>
      new Promise((resolve, reject) => {
        const text = body === undefined ? undefined : JSON.stringify(body);
        const headers: Record<string, string> = {};
        if (text !== undefined) {
          headers['content-type'] = 'application/json';
          headers['content-length'] = String(Buffer.byteLength(text));
        }
        if (access.token !== undefined) headers.authorization = `Bearer ${access.token}`;
        const req = send(new URL(path, base), { method, headers, ...tls }, (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const answer = Buffer.concat(chunks).toString('utf8');
            let parsed: Record<string, unknown> = {};
            try {
              const value = JSON.parse(answer) as unknown;
              if (typeof value === 'object' && value !== null) parsed = value as Record<string, unknown>;
            } catch {
              // Not JSON: the status says enough.
            }
            resolve({ status: res.statusCode ?? 0, text: answer, body: parsed });
          });
          res.on('error', reject);
        });
        req.setTimeout(30_000, () => req.destroy(new Error('no answer within 30 s')));
        req.on('error', reject);
        req.end(text);
      }),
  };
}
