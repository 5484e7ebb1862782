import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { DiscoveryUnavailableError } from '@systemge/node';

/** TLS settings for `https://` endpoints (PEM text). */
export interface EtcdTLSOptions {
  /** CA certificate(s) that signed etcd's server certificate. Default: the system's CAs. */
  ca?: string | readonly string[];
  /** Client certificate, for etcd started with `--client-cert-auth`. */
  cert?: string;
  /** Key of the client certificate. */
  key?: string;
  /** Name checked against etcd's certificate. Default: the endpoint's host. */
  servername?: string;
}

export interface EtcdGatewayOptions {
  endpoints: readonly string[];
  tls?: EtcdTLSOptions | undefined;
  auth?: { username: string; password: string } | undefined;
  requestTimeoutMs: number;
}

/** An etcd answer that is not 2xx: `code` is the gRPC status etcd gave. */
export class EtcdResponseError extends Error {
  constructor(
    readonly status: number,
    readonly grpcCode: number | undefined,
    message: string,
  ) {
    super(message);
  }
}

const GRPC_UNAUTHENTICATED = 16;

function grpcCodeOf(body: unknown): number | undefined {
  if (body !== null && typeof body === 'object') {
    const code = (body as { code?: unknown }).code;
    if (typeof code === 'number') return code;
  }
  return undefined;
}

function messageOf(body: unknown, raw: string): string {
  if (body !== null && typeof body === 'object') {
    const m = (body as { message?: unknown; error?: unknown }).message ?? (body as { error?: unknown }).error;
    if (typeof m === 'string') return m;
  }
  return raw.slice(0, 200);
}

/** A running watch stream; `done` settles when the stream ends (rejects on errors). */
export interface GatewayStream {
  done: Promise<void>;
  abort(): void;
}

/**
 * etcd's v3 JSON gateway (`/v3/...`) over node:http/node:https: one request at a time per
 * call, the endpoints tried in turn from the last one that answered, a token from
 * `/v3/auth/authenticate` when a username is given (renewed when etcd rejects it).
 */
export class EtcdGateway {
  private current = 0;
  private token: string | undefined;
  private readonly urls: URL[];

  constructor(private readonly options: EtcdGatewayOptions) {
    this.urls = options.endpoints.map((e) => new URL(e));
  }

  /** The endpoint requests go to first. */
  get target(): string {
    return this.urls[this.current]?.origin ?? '';
  }

  /** POSTs `body` as JSON to `path` and returns the parsed answer; tries every endpoint once. */
  async post<T>(path: string, body: unknown): Promise<T> {
    let lastError: unknown;
    for (let tried = 0; tried < this.urls.length; tried += 1) {
      const index = (this.current + tried) % this.urls.length;
      try {
        const result = await this.postTo<T>(index, path, body, true);
        this.current = index;
        return result;
      } catch (error) {
        lastError = error;
        // etcd answered and refused: another member would refuse the same way.
        if (error instanceof EtcdResponseError && error.status < 500) throw this.unavailable(index, error);
      }
    }
    this.current = (this.current + 1) % this.urls.length;
    throw this.unavailable(this.current, lastError);
  }

  private unavailable(index: number, cause: unknown): DiscoveryUnavailableError {
    const detail = cause instanceof Error ? cause.message : String(cause);
    return new DiscoveryUnavailableError('etcd', this.urls[index]?.origin ?? '', detail, { cause });
  }

  private async postTo<T>(index: number, path: string, body: unknown, mayRenew: boolean): Promise<T> {
    if (this.options.auth !== undefined && this.token === undefined && path !== '/v3/auth/authenticate') {
      this.token = await this.authenticate(index);
    }
    try {
      const { status, text } = await this.send(index, path, JSON.stringify(body));
      let parsed: unknown;
      try {
        parsed = text === '' ? {} : JSON.parse(text);
      } catch {
        throw new EtcdResponseError(status, undefined, `${path} answered ${status} with non-JSON: ${text.slice(0, 200)}`);
      }
      if (status < 200 || status >= 300) {
        throw new EtcdResponseError(status, grpcCodeOf(parsed), `${path} answered ${status}: ${messageOf(parsed, text)}`);
      }
      return parsed as T;
    } catch (error) {
      if (mayRenew && this.options.auth !== undefined && error instanceof EtcdResponseError && this.isAuthFailure(error)) {
        this.token = undefined;
        return this.postTo<T>(index, path, body, false);
      }
      throw error;
    }
  }

  private isAuthFailure(error: EtcdResponseError): boolean {
    return error.grpcCode === GRPC_UNAUTHENTICATED || /invalid auth token|token/i.test(error.message);
  }

  private async authenticate(index: number): Promise<string> {
    const auth = this.options.auth as { username: string; password: string };
    const answer = await this.postTo<{ token?: unknown }>(
      index,
      '/v3/auth/authenticate',
      { name: auth.username, password: auth.password },
      false,
    );
    if (typeof answer.token !== 'string' || answer.token === '')
      throw new EtcdResponseError(200, undefined, 'authenticate answered without a token');
    return answer.token;
  }

  private open(index: number, path: string, onResponse: (res: IncomingMessage) => void, onError: (error: Error) => void): ClientRequest {
    const url = this.urls[index] as URL;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.token !== undefined) headers['authorization'] = this.token;
    const common = { method: 'POST', host: url.hostname, port: url.port, path, headers };
    const tls = this.options.tls;
    const req =
      url.protocol === 'https:'
        ? httpsRequest({
            ...common,
            ...(tls?.ca !== undefined ? { ca: typeof tls.ca === 'string' ? tls.ca : [...tls.ca] } : {}),
            ...(tls?.cert !== undefined ? { cert: tls.cert } : {}),
            ...(tls?.key !== undefined ? { key: tls.key } : {}),
            ...(tls?.servername !== undefined ? { servername: tls.servername } : {}),
          })
        : httpRequest(common);
    req.on('response', onResponse);
    req.on('error', onError);
    return req;
  }

  private send(index: number, path: string, body: string): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (error: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.destroy();
        reject(error);
      };
      const req = this.open(
        index,
        path,
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', fail);
          res.on('end', () => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
          });
        },
        fail,
      );
      const timer = setTimeout(
        () => fail(new Error(`${path} took longer than ${this.options.requestTimeoutMs} ms`)),
        this.options.requestTimeoutMs,
      );
      req.end(body);
    });
  }

  /**
   * Opens a streaming call (`/v3/watch`) on the current endpoint (authenticating first when
   * needed) and hands every JSON message to `onMessage`. Rotates to the next endpoint on failure.
   */
  async stream(path: string, body: unknown, onMessage: (message: unknown) => void): Promise<GatewayStream> {
    const index = this.current;
    try {
      if (this.options.auth !== undefined && this.token === undefined) this.token = await this.authenticate(index);
    } catch (error) {
      this.current = (index + 1) % this.urls.length;
      throw this.unavailable(index, error);
    }
    let req: ClientRequest | undefined;
    let aborted = false;
    const done = new Promise<void>((resolve, reject) => {
      let settled = false;
      const fail = (error: unknown): void => {
        if (settled) return;
        settled = true;
        if (aborted) {
          resolve();
          return;
        }
        this.current = (index + 1) % this.urls.length;
        reject(this.unavailable(index, error));
      };
      req = this.open(
        index,
        path,
        (res) => {
          if ((res.statusCode ?? 0) !== 200) {
            if (res.statusCode === 401) this.token = undefined;
            res.resume();
            return fail(new Error(`${path} answered ${res.statusCode}`));
          }
          let buffered = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            buffered += chunk;
            for (let nl = buffered.indexOf('\n'); nl !== -1; nl = buffered.indexOf('\n')) {
              const line = buffered.slice(0, nl).trim();
              buffered = buffered.slice(nl + 1);
              if (line === '') continue;
              let message: unknown;
              try {
                message = JSON.parse(line);
              } catch (error) {
                req?.destroy();
                return fail(new Error(`${path} sent a line that is not JSON: ${line.slice(0, 200)}`, { cause: error }));
              }
              try {
                onMessage(message);
              } catch (error) {
                req?.destroy();
                return fail(error);
              }
            }
          });
          res.on('error', fail);
          res.on('end', () => fail(new Error(`${path} stream ended`)));
          res.on('close', () => fail(new Error(`${path} stream closed`)));
        },
        fail,
      );
      // The gateway starts the stream once the request body is complete; the answer stays open.
      req.end(JSON.stringify(body));
    });
    return {
      done,
      abort: () => {
        aborted = true;
        req?.destroy();
      },
    };
  }
}
