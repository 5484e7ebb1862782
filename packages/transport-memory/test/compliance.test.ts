import { describeTransportCompliance } from '@systemge/transport-compliance';
import { MemoryNetwork, memoryTransport } from '../src/index.js';

// A network per test, so ports and listeners never leak between tests.
describeTransportCompliance('memory', async () => ({ transport: memoryTransport({ network: new MemoryNetwork() }) }));
