// The application of every mesh node; `options.service` says which part of the shop it is.
//
//   catalog  answers `price`  (what an item costs)
//   stock    answers `stock`  (how many are left)
//   orders   answers `order`: asks one catalog node and one stock node (balanced `request()`s), and
//            answers with both. Only orders nodes use other services, so only they dial anyone.

/** @param {{ name: string, options: Record<string, unknown> }} context */
export default function service({ name, options }) {
  /** The node, once started: orders nodes send their requests with it. */
  let node;
  let answered = 0;
  const count = (answer) => {
    answered += 1;
    return answer;
  };
  const handlers = {
    catalog: {
      price: (m) => count({ item: String(m.payload?.item), price: 10 + (String(m.payload?.item).length % 7), by: name }),
    },
    stock: {
      stock: (m) => count({ item: String(m.payload?.item), left: 100 - (answered % 100), by: name }),
    },
    orders: {
      order: async (m) => {
        const item = String(m.payload?.item);
        if (node === undefined) throw new Error(`${name} is not started`);
        const [price, stock] = await Promise.all([node.request('price', { item }), node.request('stock', { item })]);
        return count({ item, by: name, price: price.price, priceBy: price.by, left: stock.left, stockBy: stock.by });
      },
    },
  }[String(options.service)];
  if (handlers === undefined) throw new Error(`unknown service ${JSON.stringify(options.service)}: catalog, stock or orders`);
  return {
    onStart: (started) => {
      node = started;
    },
    getSyncMessageHandlers: () => handlers,
    getCommandHandlers: () => ({
      answered: () => String(answered),
    }),
  };
}
