// A worker process: answers "price" requests with its quote after a delay.
import { createNode } from '@systemge/node';
import { tcpTransport } from '@systemge/transport-tcp';

const name = process.env.WORKER_NAME ?? `worker-${process.pid}`;
const delayMs = Number(process.env.WORKER_DELAY_MS ?? 0);
const quote = Number(process.env.WORKER_QUOTE ?? 100);

const worker = createNode(
  { name, transport: tcpTransport() },
  {
    getSyncMessageHandlers: () => ({
      price: async (message) => {
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        // An object payload: the buyer receives it as an object, no JSON.stringify/parse.
        return { item: String(message.payload), quote, by: name };
      },
    }),
  },
);
await worker.start();
process.send?.({ port: worker.address?.port });
process.on('message', async (m) => {
  if (m !== 'stop') return;
  await worker.stop('done');
  process.disconnect(); // the IPC channel is the last thing keeping this process alive
});
process.on('disconnect', () => void worker.stop('parent went away'));
