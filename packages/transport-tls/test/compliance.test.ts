import { describeTransportCompliance } from '@systemge/transport-compliance';
import { afterAll } from 'vitest';
import { tlsTransport } from '../src/index.js';
import { generateTestPKI, type TestPKI } from '@systemge/transport-compliance/pki';

let pki: Promise<TestPKI> | undefined;

afterAll(async () => {
  await (await pki)?.remove();
});

describeTransportCompliance('tls', async () => {
  pki ??= generateTestPKI();
  const { node, ca } = await pki;
  // A P2P node's usual setup, in its strictest form: one certificate to listen and dial, mutual TLS.
  const transport = tlsTransport({ cert: node.cert, key: node.key, ca: ca.cert, requestClientCert: true });
  return {
    transport,
    dialTarget: (listener) => ({ host: listener.host, port: listener.port, serverName: 'localhost' }),
  };
});
