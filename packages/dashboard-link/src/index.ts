export { DASHBOARD_DESCRIBE_TOPIC, DASHBOARD_COMMAND_TOPIC, DASHBOARD_STATUS_TOPIC, DASHBOARD_UPDATE_TOPIC } from './topics.js';
export { describeNode, pluginMetricsOf, EventLoopProbe, type NodeDescription, type ProcessDescription } from './description.js';
export { connectDashboard, InsecureLinkError, type DashboardLink, type DashboardLinkOptions } from './link.js';
