// The "ping" process: starts pong in a second process, sends it async pings, then sync requests.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { createNode } from '@systemge/node';
import { tcpTransport } from '@systemge/transport-tcp';

const child = fork(new URL('./pong.js', import.meta.url));
const [{ port }] = await once(child, 'message');
console.log(`pong is listening on 127.0.0.1:${port} (pid ${child.pid})`);

const ping = createNode({ name: 'ping', transport: tcpTransport(), endpoints: [{ host: '127.0.0.1', port, name: 'pong' }] });
await ping.start();
console.log(
  `ping connected to ${ping
    .peers()
    .map((p) => p.name)
    .join(', ')}`,
);

for (let i = 1; i <= 5; i++) ping.asyncMessage('ping', `async ${i}`);
console.log('sent 5 async pings');

for (let i = 1; i <= 3; i++) {
  const started = performance.now();
  const answer = await ping.syncRequest('ping', `sync ${i}`).first();
  console.log(`sync ${i}: "${answer}" in ${(performance.now() - started).toFixed(2)} ms`);
}

await ping.stop('done');
child.send('stop');
await once(child, 'exit');
console.log('both processes stopped');
