// Two nodes over TCP, one sync request, using only the published API of the packed packages.
import { createNode, type SyncResponse, type TopicMap } from '@systemge/node';
import { tcpTransport } from '@systemge/transport-tcp';
import { resolveLimits } from '@systemge/protocol';

interface Topics extends TopicMap {
  async: Record<string, never>;
  sync: { square: { request: string; response: string } };
}

const worker = createNode<Topics>(
  { name: 'worker', transport: tcpTransport(), listen: { host: '127.0.0.1', port: 0 } },
  { getSyncMessageHandlers: () => ({ square: (message) => String(Number(message.payload) ** 2) }) },
);
await worker.start();
const port = worker.address?.port;
if (port === undefined) throw new Error('worker has no listen address after start()');

const client = createNode<Topics>({
  name: 'client',
  transport: tcpTransport(),
  listen: false,
  endpoints: [{ host: '127.0.0.1', port }],
});
await client.start();

try {
  const responses: SyncResponse<string>[] = await client.syncRequest('square', '12', { timeoutMs: 5000 }).all();
  const answer = responses[0];
  if (responses.length !== 1 || answer?.origin !== 'worker' || !answer.ok || answer.payload !== '144') {
    throw new Error(`unexpected sync responses: ${JSON.stringify(responses)}`);
  }
  if (resolveLimits({}).maxTopicBytes <= 0) throw new Error('protocol limits are not usable');
  console.log('ok: worker answered 12² = 144 over TCP');
} finally {
  await client.stop();
  await worker.stop();
}
