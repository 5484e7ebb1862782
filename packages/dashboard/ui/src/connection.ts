import type { FeedMessage } from './messages.js';

/** Where the page stands with the dashboard. */
export type LinkState =
  | { kind: 'connecting' }
  | { kind: 'live' }
  /** The feed closed or could not be reached; the next attempt is at `retryAt` (page clock). */
  | { kind: 'lost'; retryAt: number; attempt: number }
  /** The dashboard wants a token; `rejected` when the one given was wrong. */
  | { kind: 'login'; rejected: boolean };

/** A failure the dashboard reported, with its stable code. */
export class DashboardRequestFailed extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

const TOKEN_KEY = 'systemge.dashboard.token';
const DASHBOARD_WS_PROTOCOL = 'systemge.dashboard.v1';
const BEARER_PREFIX = 'systemge.bearer.';
const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 10_000;
const COMMAND_TIMEOUT_MS = 30_000;

function storedToken(): string | undefined {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

interface Pending {
  resolve: (result: unknown) => void;
  reject: (error: Error) => void;
  timer: number;
}

/**
 * The page's link to the dashboard: checks access on `/api/health`, keeps the `/ws` feed open
 * (reconnecting with exponential backoff) and runs commands over it. The token lives in memory
 * and in sessionStorage, sent only as a header or WebSocket subprotocol — never in a URL.
 */
export class DashboardLink {
  private token = storedToken();
  private socket: WebSocket | undefined;
  private attempt = 0;
  private timer: number | undefined;
  private nextId = 1;
  private readonly idPrefix = Math.random().toString(36).slice(2, 10);
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly onState: (state: LinkState) => void,
    private readonly onMessage: (message: FeedMessage) => void,
  ) {}

  /** Whether a token is in use (the page offers to sign out). */
  get signedIn(): boolean {
    return this.token !== undefined;
  }

  /** Opens the feed; the page starts out showing 'connecting', so no state is reported until it changes. */
  start(): void {
    this.connect(false);
  }

  /** Reconnects now instead of waiting for the backoff. */
  retryNow(): void {
    this.connect();
  }

  /** Tries a token; resolves false when the dashboard rejects it. */
  async signIn(token: string): Promise<boolean> {
    const outcome = await this.check(token);
    if (outcome === 'unauthorized') return false;
    if (outcome === 'unreachable') throw new DashboardRequestFailed('the dashboard cannot be reached', 'NETWORK');
    this.token = token;
    try {
      sessionStorage.setItem(TOKEN_KEY, token);
    } catch {
      // Storage may be disabled; the token then lasts as long as the page.
    }
    this.connect();
    return true;
  }

  signOut(): void {
    this.token = undefined;
    try {
      sessionStorage.removeItem(TOKEN_KEY);
    } catch {
      // Nothing stored.
    }
    this.closeSocket();
    this.onState({ kind: 'login', rejected: false });
  }

  /** A JSON API call; throws `DashboardRequestFailed` with the dashboard's message and code. */
  async request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token !== undefined) headers['authorization'] = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
    } catch {
      throw new DashboardRequestFailed('the dashboard cannot be reached', 'NETWORK');
    }
    const data = (await response.json().catch(() => ({}))) as { error?: string; code?: string };
    if (response.status === 401) this.unauthorized();
    if (!response.ok) throw new DashboardRequestFailed(data.error ?? `HTTP ${response.status}`, data.code ?? 'HTTP', response.status);
    return data as T;
  }

  /** Runs a command on a node over the feed; resolves with its text, rejects with the dashboard's error. */
  command(name: string, command: string, args: string[] = []): Promise<unknown> {
    const socket = this.socket;
    if (socket === undefined || socket.readyState !== WebSocket.OPEN) {
      return Promise.reject(new DashboardRequestFailed('not connected to the dashboard; the command was not sent', 'NOT_CONNECTED'));
    }
    const id = `${this.idPrefix}-${this.nextId++}`;
    return new Promise((resolve, reject) => {
      const timer = window.setTimeout(() => {
        this.pending.delete(id);
        reject(new DashboardRequestFailed(`no answer within ${COMMAND_TIMEOUT_MS / 1000} s`, 'TIMEOUT'));
      }, COMMAND_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
      socket.send(JSON.stringify({ type: 'command', id, name, command, args }));
    });
  }

  private async check(token: string | undefined): Promise<'ok' | 'unauthorized' | 'unreachable'> {
    try {
      const response = await fetch('/api/health', {
        headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
        cache: 'no-store',
      });
      if (response.status === 401) return 'unauthorized';
      return response.ok ? 'ok' : 'unreachable';
    } catch {
      return 'unreachable';
    }
  }

  private unauthorized(): void {
    const rejected = this.token !== undefined;
    this.closeSocket();
    this.onState({ kind: 'login', rejected });
  }

  private closeSocket(): void {
    window.clearTimeout(this.timer);
    this.timer = undefined;
    const socket = this.socket;
    this.socket = undefined;
    if (socket !== undefined && socket.readyState <= WebSocket.OPEN) socket.close(1000, 'page closed the feed');
    this.failPending('connection to the dashboard closed before the answer arrived');
  }

  private failPending(reason: string): void {
    for (const [id, p] of this.pending) {
      window.clearTimeout(p.timer);
      p.reject(new DashboardRequestFailed(reason, 'CONNECTION_LOST'));
      this.pending.delete(id);
    }
  }

  /** Opens the feed straight away; only when it fails does `/api/health` tell a wrong token from an outage. */
  private connect(report = true): void {
    this.closeSocket();
    if (report) this.onState({ kind: 'connecting' });
    const protocols = [DASHBOARD_WS_PROTOCOL];
    if (this.token !== undefined) protocols.push(`${BEARER_PREFIX}${this.token}`);
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
    const socket = new WebSocket(url, protocols);
    this.socket = socket;
    let opened = false;
    socket.onopen = () => {
      opened = true;
      performance.mark('feed-open');
      this.attempt = 0;
      this.onState({ kind: 'live' });
    };
    socket.onmessage = (event: MessageEvent) => {
      let message: FeedMessage;
      try {
        message = JSON.parse(String(event.data)) as FeedMessage;
      } catch {
        return;
      }
      this.settle(message);
      this.onMessage(message);
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.failPending('connection to the dashboard lost before the answer arrived');
      // A refused upgrade looks like any other close to a page; /api/health tells a wrong token apart.
      if (opened) return this.scheduleReconnect();
      void this.check(this.token).then((outcome) => {
        if (this.socket !== undefined) return;
        if (outcome === 'unauthorized') this.unauthorized();
        else this.scheduleReconnect();
      });
    };
  }

  private settle(message: FeedMessage): void {
    if (message.type !== 'command' && message.type !== 'error') return;
    if (typeof message.id !== 'string') return;
    const p = this.pending.get(message.id);
    if (p === undefined) return;
    this.pending.delete(message.id);
    window.clearTimeout(p.timer);
    if (message.type === 'error') p.reject(new DashboardRequestFailed(message.error, message.code));
    else if (message.error !== undefined) p.reject(new DashboardRequestFailed(message.error, message.code ?? 'COMMAND_FAILED'));
    else p.resolve(message.result ?? '');
  }

  private scheduleReconnect(): void {
    window.clearTimeout(this.timer);
    const base = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** this.attempt);
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    this.attempt++;
    this.onState({ kind: 'lost', retryAt: performance.now() + delay, attempt: this.attempt });
    this.timer = window.setTimeout(() => this.connect(), delay);
  }
}
