import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  type Application,
  type CodedError,
  createNode,
  isSystemgeError,
  type IncomingMessage,
  type NodeEvents,
  PayloadEncodingError,
  type SyncRequest,
  type SyncResponse,
  type SystemgeComponent,
  type SystemgeErrorCode,
  type SystemgeNode,
} from '../src/index.js';
import { endpointOf, startNode, until } from './helpers.js';

/* Type-level checks (run by `pnpm typecheck`) with a runtime round trip: interfaces as topic maps, object payloads. */

interface Item {
  sku: string;
  qty: number;
}
interface Quote {
  total: number;
  at: Date;
}
interface AsyncTopics {
  'cart.add': Item;
  'cart.clear': null;
}
interface SyncTopics {
  'cart.quote': { request: { items: Item[] }; response: Quote };
  'cart.count': { request: undefined; response: number };
}
interface Topics {
  async: AsyncTopics;
  sync: SyncTopics;
}

class Cart implements SystemgeComponent<Topics> {
  items: Item[] = [];
  getAsyncMessageHandlers() {
    return {
      'cart.add': (m: IncomingMessage<Item>) => {
        this.items.push(m.payload);
      },
    };
  }
  getSyncMessageHandlers() {
    return {
      'cart.quote': (m: IncomingMessage<{ items: Item[] }>): Quote => ({
        total: m.payload.items.reduce((sum, i) => sum + i.qty, 0),
        at: new Date(0),
      }),
      'cart.count': () => this.items.length,
    };
  }
}

describe('interface topic maps with object payloads', () => {
  it('type-check and round-trip end to end', async () => {
    const cart = new Cart();
    const server = await startNode({ name: 'server' }, cart as Application);
    const client = (await startNode({ name: 'client', endpoints: [endpointOf(server)] })) as unknown as SystemgeNode<Topics>;
    await until(() => client.peers().some((p) => p.syncTopics.includes('cart.count')));

    expectTypeOf(client.asyncMessage<'cart.add'>)
      .parameter(1)
      .toEqualTypeOf<Item>();
    client.asyncMessage('cart.add', { sku: 'a', qty: 2 });
    client.asyncMessage('cart.clear', null);
    await until(() => cart.items.length === 1);
    expect(cart.items).toEqual([{ sku: 'a', qty: 2 }]);

    const request = client.syncRequest('cart.quote', {
      items: [
        { sku: 'a', qty: 2 },
        { sku: 'b', qty: 3 },
      ],
    });
    expectTypeOf(request).toEqualTypeOf<SyncRequest<Quote>>();
    const quote = await request.first();
    expectTypeOf(quote).toEqualTypeOf<Quote>();
    expect(quote.total).toBe(5);
    expect(quote.at).toBeInstanceOf(Date);

    const counts = await client.syncRequest('cart.count', undefined).all();
    expectTypeOf(counts).toEqualTypeOf<SyncResponse<number>[]>();
    expect(counts).toEqual([{ origin: 'server', ok: true, payload: 1 }]);
  });

  it('rejects wrong object payloads at compile time', () => {
    const node = createNode<Topics>({ name: 'typed', listen: false });
    const compileOnly = (): void => {
      // @ts-expect-error: qty must be a number
      node.asyncMessage('cart.add', { sku: 'a', qty: '2' });
      // @ts-expect-error: sku is missing
      node.asyncMessage('cart.add', { qty: 2 });
      // @ts-expect-error: the request is { items }, not an item
      node.syncRequest('cart.quote', { sku: 'a', qty: 1 });
      // @ts-expect-error: the handler must answer with a Quote
      node.addSyncTopic('cart.quote', () => ({ total: '5' }));
      node.addSyncTopic('cart.quote', (m) => {
        expectTypeOf(m.payload).toEqualTypeOf<{ items: Item[] }>();
        return { total: m.payload.items.length, at: new Date() };
      });
      node.addAsyncTopic('cart.add', (m) => {
        expectTypeOf(m.payload.qty).toEqualTypeOf<number>();
      });
    };
    expect(typeof compileOnly).toBe('function');
  });

  it('types warning and connect:failed errors with their codes; errors come from @systemge/node alone', () => {
    type Warning = NodeEvents['warning'][0];
    expectTypeOf<Warning>().toEqualTypeOf<CodedError>();
    expectTypeOf<Warning['code']>().toEqualTypeOf<SystemgeErrorCode>();
    expectTypeOf<NodeEvents['connect:failed'][2]['code']>().toEqualTypeOf<SystemgeErrorCode>();
    const onWarning = (error: Warning): string => {
      switch (error.code) {
        case 'SYSTEMGE_ERR_QUEUED_MESSAGES_DISCARDED':
        case 'SYSTEMGE_ERR_PAYLOAD_UNENCODABLE':
          return 'known';
        // @ts-expect-error: not a Systemge error code
        case 'SYSTEMGE_ERR_NO_SUCH_CODE':
          return 'typo';
        default:
          return error.code;
      }
    };
    expect(onWarning(new PayloadEncodingError('t', 'x') as Warning)).toBe('known');
    expect(isSystemgeError(new PayloadEncodingError('t', 'x'), 'SYSTEMGE_ERR_PAYLOAD_UNENCODABLE')).toBe(true);
  });
});
