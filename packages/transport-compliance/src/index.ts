export { describeTransportCompliance, type ComplianceContext } from './transport-compliance.js';
