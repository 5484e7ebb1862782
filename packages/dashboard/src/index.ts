export {
  createDashboard,
  checkDashboardOptions,
  type Dashboard,
  type DashboardOptions,
  type DashboardHTTPSOptions,
  type DashboardSystemgeOptions,
  type DashboardNodeSummary,
  type DashboardNodeDetails,
  type TopologyEdge,
  type Topology,
  type DiscoveredLink,
} from './dashboard.js';
export type { DashboardNodeStatus } from './tracked-node.js';
export type { NodeMetricsSummary } from './summary.js';
export { DASHBOARD_WS_PROTOCOL, WS_BEARER_PREFIX } from './access.js';
export {
  DashboardError,
  DashboardTokenRequiredError,
  DashboardOptionError,
  DashboardStateError,
  UnknownNodeError,
  DuplicateNodeError,
  NodeUnavailableError,
  DashboardRequestError,
  DashboardUnauthorizedError,
  DashboardForbiddenError,
  CommandFailedError,
  RouteNotFoundError,
  DashboardInternalError,
} from './errors.js';
