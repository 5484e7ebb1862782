import * as net from 'node:net';
import { describe, expect, it } from 'vitest';
import { type CloseInfo, type Connection, createStreamConnection, type Frame, FrameKind } from '../src/index.js';

/*
 * `close(reason, code, { deliverUntilPeerCloses: true })`: frames the peer sent before it saw the
 * goodbye still reach this side's handlers (a connection replaced by another one to the same peer
 * may carry them); without the option they are discarded, as before.
 */

const info = (port: number) => ({
  transport: 'tcp',
  remoteAddress: '127.0.0.1',
  remotePort: port,
  remoteFamily: 'IPv4' as const,
  localAddress: '',
  localPort: 0,
});

async function pair(): Promise<{
  closer: Connection;
  sender: Connection;
  received: Frame[];
  closed: Promise<CloseInfo>;
  done: () => void;
}> {
  const received: Frame[] = [];
  let resolveClosed: (info: CloseInfo) => void = () => {};
  const closed = new Promise<CloseInfo>((resolve) => {
    resolveClosed = resolve;
  });
  return new Promise((resolve) => {
    const server = net.createServer((socket) => {
      const closer = createStreamConnection(socket, info(0));
      closer.setHandlers({ onFrame: (f) => received.push(f), onClose: (i) => resolveClosed(i) });
      resolve({ closer, sender, received, closed, done: () => server.close() });
    });
    let sender: Connection;
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      sender = createStreamConnection(net.connect(port, '127.0.0.1'), info(port));
      sender.setHandlers({ onFrame: () => {} });
    });
  });
}

const message = (i: number): Frame => ({ kind: FrameKind.AsyncMessage, topic: 't', payload: String(i), syncToken: undefined });

describe('close and the frames the peer sent before it saw the goodbye', () => {
  for (const deliver of [true, false]) {
    it(deliver ? 'with deliverUntilPeerCloses: delivered, in order' : 'by default: discarded', async () => {
      const { closer, sender, received, closed, done } = await pair();
      try {
        // A first frame, so the closer has seen the peer (the handshake in real use).
        sender.send(message(0));
        await expect.poll(() => received.length).toBe(1);
        const closing = closer.close('replaced', 'SYSTEMGE_ERR_CONNECTION_SUPERSEDED', { deliverUntilPeerCloses: deliver });
        // Sent after the closer's goodbye left, before the sender has read it.
        for (let i = 1; i <= 50; i++) sender.send(message(i));
        await sender.close('done');
        await closing;
        expect((await closed).code).toBe('SYSTEMGE_ERR_CONNECTION_SUPERSEDED');
        const payloads = received.map((f) => (f.kind === FrameKind.AsyncMessage ? f.payload : undefined));
        expect(payloads).toEqual(deliver ? Array.from({ length: 51 }, (_, i) => String(i)) : ['0']);
      } finally {
        done();
      }
    });
  }
});
