// The `traffic` node of the dashboard process: it does not listen, finds the orders nodes through
// etcd (`connectTo: { uses: ["order"] }`) and sends them a balanced `order` request every
// `options.intervalMs`; every `options.summaryMs` it prints who answered.

const ITEMS = ['apple', 'pear', 'plum', 'fig', 'quince', 'cherry'];

/** `a: 3, b: 2`, names sorted. */
const tally = (counts) =>
  [...counts.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');

/** @param {{ options: Record<string, unknown> }} context */
export default function traffic({ options }) {
  const intervalMs = Number(options.intervalMs ?? 250);
  const summaryMs = Number(options.summaryMs ?? 5000);
  const timers = [];
  return {
    onStart(node) {
      let sent = 0;
      let failed = 0;
      let lastError = '';
      const orders = new Map();
      const prices = new Map();
      const stock = new Map();
      const add = (map, key) => map.set(key, (map.get(key) ?? 0) + 1);
      timers.push(
        setInterval(() => {
          const item = ITEMS[sent % ITEMS.length];
          sent += 1;
          node.request('order', { item }, { timeoutMs: 2000 }).then(
            (answer) => {
              add(orders, answer.by);
              add(prices, answer.priceBy);
              add(stock, answer.stockBy);
            },
            (error) => {
              failed += 1;
              lastError = error.code ?? error.message;
            },
          );
        }, intervalMs),
        setInterval(() => {
          const answered = [...orders.values()].reduce((a, b) => a + b, 0);
          const failures = failed === 0 ? '' : `; ${failed} failed (last: ${lastError})`;
          const detail = answered === 0 ? '' : ` by ${tally(orders)}; prices from ${tally(prices)}; stock from ${tally(stock)}`;
          console.log(`traffic: ${answered} orders answered${detail}${failures}`);
          orders.clear();
          prices.clear();
          stock.clear();
          failed = 0;
        }, summaryMs),
      );
    },
    onStop() {
      for (const timer of timers) clearInterval(timer);
    },
  };
}
