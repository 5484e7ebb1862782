/** Sync topic a dashboard calls to read a node's description (payload ''). */
export const DASHBOARD_DESCRIBE_TOPIC = 'systemge.dashboard.describe';
/** Sync topic a dashboard calls to run a command (payload: JSON `{ command, args }`; response: JSON `{ result }`). */
export const DASHBOARD_COMMAND_TOPIC = 'systemge.dashboard.command';
/** Async topic a node sends its status changes on (payload: JSON `{ name, status, previous }`). */
export const DASHBOARD_STATUS_TOPIC = 'systemge.dashboard.status';
/**
 * Async topic a node pushes its description on when its peers or its discovery's membership change
 * (payload: JSON `NodeDescription` without `process`), so the dashboard need not wait for its next describe.
 */
export const DASHBOARD_UPDATE_TOPIC = 'systemge.dashboard.update';
