export { DASHBOARD_DESCRIBE_TOPIC, DASHBOARD_COMMAND_TOPIC, DASHBOARD_STATUS_TOPIC, DASHBOARD_UPDATE_TOPIC } from './topics.js';
export { describeNode, pluginMetricsOf, type NodeDescription } from './description.js';
// The probe lives in @systemge/node; exported here too for code that imported it from this package.
export { EventLoopProbe, type ProcessDescription } from '@systemge/node';
export { connectDashboard, InsecureLinkError, type DashboardLink, type DashboardLinkOptions } from './link.js';
