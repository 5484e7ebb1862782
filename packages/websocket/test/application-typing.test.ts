import { createNode } from '@systemge/node';
import { tcpTransport } from '@systemge/transport-tcp';
import { expect, it } from 'vitest';
import { httpComponent } from '@systemge/http';
import { websocketComponent } from '../src/index.js';

it('an inline application with HTTP and WebSocket methods type-checks as a node application', () => {
  const http = httpComponent();
  const node = createNode(
    { name: 'typed', transport: tcpTransport() },
    {
      getHttpMessageHandlers: () => ({ 'GET /': () => 'ok' }),
      getWebsocketMessageHandlers: () => ({ echo: (_client, message) => message.payload }),
      onConnect: (client) => void client.id,
      getSyncMessageHandlers: () => ({ ping: () => 'pong' }),
    },
    { plugins: [http, websocketComponent({ http })] },
  );
  expect(node.status).toBe('stopped');
});
