export {
  httpComponent,
  type HTTPComponent,
  type HTTPComponentOptions,
  type HTTPComponentApplication,
  type HTTPMessageHandlers,
  type HTTPRoute,
  type HTTPRouteHandler,
  type HTTPMount,
  type HTTPSOptions,
  type IPAccessList,
} from './http-component.js';
export type { RouteKey } from './route-table.js';
export { HTTPConfigError, HTTPListenError, HTTPStateError, RouteExistsError } from './http-errors.js';
