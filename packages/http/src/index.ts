export {
  httpComponent,
  type HTTPComponent,
  type HTTPComponentApplication,
  type HTTPFastifyPlugin,
  type HTTPMount,
} from './http-component.js';
export type { HTTPComponentOptions, HTTPSOptions } from './options.js';
export type {
  HTTPMessageHandlers,
  HTTPRoute,
  HTTPRouteHandler,
  HTTPRouteOptions,
  HTTPRouteSpec,
  RouteGenericOf,
  RouteKey,
  RouteParams,
} from './routes.js';
export { HTTPConfigError, HTTPListenError, HTTPStateError, RouteExistsError } from './http-errors.js';
export { systemgeErrorStatus } from './error-status.js';
