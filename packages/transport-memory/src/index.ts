export { memoryTransport, MemoryNetwork, type MemoryTransportOptions } from './memory-transport.js';
