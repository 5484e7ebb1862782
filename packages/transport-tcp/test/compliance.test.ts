import { describeTransportCompliance } from '@systemge/transport-compliance';
import { tcpTransport } from '../src/index.js';

describeTransportCompliance('tcp', async () => ({ transport: tcpTransport() }));
