import type { FastifyRequest } from 'fastify';
import type { Counters } from './counters.js';
import type { ResolvedOptions } from './options.js';

/** Why an upgrade request is refused, as its HTTP answer. */
export interface Refusal {
  status: number;
  error: string;
  message: string;
}

/** What admission needs to know about the component. */
export interface AdmissionState {
  name: string;
  serving: boolean;
  clients: number;
}

/**
 * Decides, before the upgrade, whether a request may become a WebSocket: the component serves, the
 * `Origin` is allowed (`origins`, `allowMissingOrigin`) and there is room (`maxClients`). Counts refusals.
 */
export function admissionRefusal(
  request: FastifyRequest,
  options: ResolvedOptions,
  state: AdmissionState,
  counters: Counters,
): Refusal | undefined {
  if (!state.serving) return { status: 503, error: 'Service Unavailable', message: `WebSocket component "${state.name}" is not started` };
  const origins = options.origins;
  if (origins !== undefined) {
    const origin = request.headers.origin;
    const allowed = origin === undefined ? options.allowMissingOrigin : origins.has(safeOrigin(origin));
    if (!allowed) {
      counters.refusedOrigin++;
      return {
        status: 403,
        error: 'Forbidden',
        message: origin === undefined ? 'an Origin header is required' : `origin ${origin} is not allowed`,
      };
    }
  }
  if (state.clients >= options.maxClients) {
    counters.refusedFull++;
    return { status: 503, error: 'Service Unavailable', message: `too many clients (maxClients ${options.maxClients})` };
  }
  return undefined;
}

/** An `Origin` header in the normalized form of the `origins` option (itself when it does not parse). */
export function safeOrigin(origin: string): string {
  try {
    return new URL(origin).origin;
  } catch {
    return origin;
  }
}
