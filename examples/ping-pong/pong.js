// The "pong" process: a node that counts async pings and answers sync pings.
import { createNode } from '@systemge/node';
import { tcpTransport } from '@systemge/transport-tcp';

let pings = 0;
const pong = createNode(
  { name: 'pong', transport: tcpTransport(), listen: { host: '127.0.0.1', port: Number(process.env.PONG_PORT ?? 0) } },
  {
    getAsyncMessageHandlers: () => ({
      ping: () => {
        pings++;
      },
    }),
    getSyncMessageHandlers: () => ({
      ping: (message) => `pong #${pings} to ${message.origin}: ${String(message.payload)}`,
    }),
  },
);

await pong.start();
// Tell the parent where we listen; stop when it says so (or when it goes away).
process.send?.({ port: pong.address?.port });
process.on('message', async (message) => {
  if (message !== 'stop') return;
  await pong.stop('ping is done');
  process.disconnect(); // the IPC channel is the last thing keeping this process alive
});
process.on('disconnect', () => void pong.stop('parent went away'));
