export { tcpTransport, type TCPTransportOptions } from './tcp-transport.js';
