import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  type Application,
  type IncomingMessage,
  type SyncRequest,
  type SyncResponse,
  type SystemgeComponent,
  type SystemgeNode,
  createNode,
} from '../src/index.js';
import { endpointOf, startNode } from './helpers.js';

type Topics = {
  async: { 'chat.message': string; 'file.chunk': Uint8Array };
  sync: { 'math.double': { request: string; response: string }; 'blob.hash': { request: Uint8Array; response: string } };
};

class Calculator implements SystemgeComponent<Topics> {
  getAsyncMessageHandlers() {
    return {
      'chat.message': (m: IncomingMessage<string>) => {
        expectTypeOf(m.payload).toEqualTypeOf<string>();
      },
    };
  }
  getSyncMessageHandlers() {
    return {
      'math.double': (m: IncomingMessage<string>) => String(Number(m.payload) * 2),
      'blob.hash': (m: IncomingMessage<Uint8Array>) => String(m.payload.byteLength),
    };
  }
}

describe('typed topic maps', () => {
  it('types payloads and responses end to end', async () => {
    const server = await startNode({ name: 'server' }, new Calculator() as Application);
    const client = (await startNode({ name: 'client', endpoints: [endpointOf(server)] })) as unknown as SystemgeNode<Topics>;

    expectTypeOf(client.asyncMessage<'chat.message'>)
      .parameter(1)
      .toEqualTypeOf<string>();
    expectTypeOf(client.asyncMessage<'file.chunk'>)
      .parameter(1)
      .toEqualTypeOf<Uint8Array>();
    expect(client.asyncMessage('chat.message', 'hi')).toBe(true);

    const request = client.syncRequest('math.double', '21');
    expectTypeOf(request).toEqualTypeOf<SyncRequest<string>>();
    const doubled = await request.first();
    expectTypeOf(doubled).toEqualTypeOf<string>();
    expect(doubled).toBe('42');

    const balanced = client.request('math.double', '4', { balance: 'least-pending' });
    expectTypeOf(balanced).toEqualTypeOf<Promise<string>>();
    expect(await balanced).toBe('8');

    const responses = await client.syncRequest('blob.hash', new Uint8Array(5)).all();
    expectTypeOf(responses).toEqualTypeOf<SyncResponse<string>[]>();
    expect(responses).toEqual([{ origin: 'server', ok: true, payload: '5' }]);
  });

  it('rejects wrong payloads, unknown topics and wrong handler types at compile time', () => {
    // Never started: only the types matter here.
    const node = createNode<Topics>({ name: 'typed', listen: false });
    expectTypeOf(node).toEqualTypeOf<SystemgeNode<Topics>>();

    const compileOnly = (): void => {
      // @ts-expect-error: chat.message carries a string, not bytes
      node.asyncMessage('chat.message', new Uint8Array(1));
      // @ts-expect-error: file.chunk carries bytes, not a string
      node.asyncMessage('file.chunk', 'text');
      // @ts-expect-error: no such async topic
      node.asyncMessage('chat.mesage', 'hi');
      // @ts-expect-error: a sync topic is not an async topic
      node.asyncMessage('math.double', '1');
      // @ts-expect-error: math.double takes a string request
      node.syncRequest('math.double', new Uint8Array(1));
      // @ts-expect-error: no such sync topic
      node.syncRequest('math.triple', '1');
      // @ts-expect-error: a balanced request is typed like syncRequest: math.double takes a string
      void node.request('math.double', new Uint8Array(1));
      // @ts-expect-error: no such sync topic
      void node.request('math.triple', '1');
      // @ts-expect-error: not a strategy
      void node.request('math.double', '1', { balance: 'fastest' });
      // @ts-expect-error: a balanced async message is typed like asyncMessage
      node.asyncMessage('chat.message', new Uint8Array(1), { balance: 'random' });
      // @ts-expect-error: the handler must answer with the response type (string), not a number
      node.addSyncTopic('math.double', () => 42);
      // @ts-expect-error: the handler's payload is a string, it has no byteLength
      node.addAsyncTopic('chat.message', (m) => m.payload.byteLength);
      node.addAsyncTopic('chat.message', (m) => {
        expectTypeOf(m.payload).toEqualTypeOf<string>();
      });
      node.addSyncTopic('blob.hash', (m) => {
        expectTypeOf(m.payload).toEqualTypeOf<Uint8Array>();
        return 'ok';
      });
    };
    expect(typeof compileOnly).toBe('function');

    // Components declare their topic map too.
    const wrong: SystemgeComponent<Topics> = {
      // @ts-expect-error: math.double must answer with a string, not bytes
      getSyncMessageHandlers: () => ({ 'math.double': () => new Uint8Array(1) }),
    };
    expect(wrong.getSyncMessageHandlers).toBeTypeOf('function');

    // Untyped nodes accept any topic and any payload.
    const loose = createNode({ name: 'loose', listen: false });
    expectTypeOf(loose.asyncMessage).parameter(0).toEqualTypeOf<string>();
    expectTypeOf<ReturnType<typeof loose.syncRequest>>().toEqualTypeOf<SyncRequest<unknown>>();
  });
});
