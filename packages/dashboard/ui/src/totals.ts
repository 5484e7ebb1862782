import { h } from './dom.js';
import { formatBytes } from './format.js';
import type { MetricsSummary } from './messages.js';
import type { Store } from './store.js';

/** The totals columns: key of the summary, heading, and how to show it. */
const COLUMNS: readonly (readonly [key: keyof MetricsSummary, title: string, bytes: boolean])[] = [
  ['messagesReceived', 'Messages in', false],
  ['messagesSent', 'Messages out', false],
  ['bytesReceived', 'Bytes received', true],
  ['bytesSent', 'Bytes sent', true],
  ['syncRequestsServed', 'Sync served', false],
  ['syncRequestsFailed', 'Sync failed', false],
];

const whole = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** Per-node totals since each node started counting: messages, bytes, sync requests served and failed. */
export class TotalsPanel {
  readonly element: HTMLElement;
  private readonly body: HTMLTableSectionElement;
  private readonly rows = new Map<string, Map<keyof MetricsSummary, HTMLElement>>();

  constructor(
    private readonly store: Store,
    private readonly showDetail: (name: string) => void,
  ) {
    this.body = h('tbody');
    this.element = h(
      'section',
      { class: 'card totals', 'aria-labelledby': 'totals-title' },
      h('header', { class: 'card-head' }, h('h2', { id: 'totals-title' }, 'Totals')),
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'totals-table' },
          h(
            'thead',
            null,
            h('tr', null, h('th', { scope: 'col' }, 'Node'), ...COLUMNS.map(([, title]) => h('th', { scope: 'col', class: 'num' }, title))),
          ),
          this.body,
        ),
      ),
    );
    store.subscribe((change) => {
      if (change.kind === 'nodes') this.rebuild();
      else if (change.kind === 'metrics') this.update(change.name);
    });
  }

  private rebuild(): void {
    this.body.replaceChildren();
    this.rows.clear();
    for (const node of this.store.list()) {
      const cells = new Map<keyof MetricsSummary, HTMLElement>();
      const name = h(
        'button',
        { type: 'button', class: 'link', 'aria-label': `Details of ${node.name}`, onclick: () => this.showDetail(node.name) },
        node.name,
      );
      const row = h('tr', { 'data-totals-node': node.name }, h('th', { scope: 'row' }, name));
      for (const [key, title] of COLUMNS) {
        const cell = h('td', { class: 'num', 'data-total': key, 'data-label': title }, '–');
        cells.set(key, cell);
        row.append(cell);
      }
      this.rows.set(node.name, cells);
      this.body.append(row);
      this.update(node.name);
    }
  }

  private update(name: string): void {
    const cells = this.rows.get(name);
    const m = this.store.nodes.get(name)?.metrics;
    if (cells === undefined || m === null || m === undefined) return;
    for (const [key, , bytes] of COLUMNS) {
      const value = m[key];
      const cell = cells.get(key)!;
      if (typeof value !== 'number') continue;
      cell.textContent = bytes ? formatBytes(value) : whole.format(value);
      cell.dataset['value'] = String(value);
    }
  }
}

/** Every counter of one node, as its latest metrics message carried them. */
export class NodeDetail {
  readonly element: HTMLElement;
  private readonly title: HTMLElement;
  private readonly body: HTMLTableSectionElement;
  private readonly plugins: HTMLTableSectionElement;
  private selected: string | undefined;

  constructor(private readonly store: Store) {
    this.title = h('h2', { id: 'detail-title' }, 'Node details');
    this.body = h('tbody');
    this.plugins = h('tbody');
    const close = h(
      'button',
      { type: 'button', class: 'btn small ghost', 'aria-label': 'Close node details', onclick: () => this.show(undefined) },
      'Close',
    );
    this.element = h(
      'section',
      { class: 'card node-detail', 'aria-labelledby': 'detail-title', hidden: true },
      h('header', { class: 'card-head' }, this.title, close),
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'counter-table' },
          h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Counter'), h('th', { scope: 'col', class: 'num' }, 'Value'))),
          this.body,
        ),
        h(
          'table',
          { class: 'counter-table plugin-table' },
          h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Plugin sample'), h('th', { scope: 'col', class: 'num' }, 'Value'))),
          this.plugins,
        ),
      ),
    );
    store.subscribe((change) => {
      if (change.kind === 'metrics' && change.name === this.selected) this.render();
      if (change.kind === 'nodes' && this.selected !== undefined && !this.store.nodes.has(this.selected)) this.show(undefined);
    });
  }

  /** Shows one node's counters, or hides the view. */
  show(name: string | undefined): void {
    this.selected = name;
    this.element.hidden = name === undefined;
    this.element.dataset['node'] = name ?? '';
    if (name !== undefined) {
      this.render();
      this.element.scrollIntoView({ block: 'nearest' });
    }
  }

  private render(): void {
    const node = this.selected === undefined ? undefined : this.store.nodes.get(this.selected);
    if (node === undefined) return;
    this.title.textContent = `${node.name} · counters`;
    const counters = Object.entries(node.stats ?? {}).map(([key, value]): [string, string] => [key, counterText(value)]);
    if (counters.length === 0) counters.push(['', 'No figures yet.']);
    fill(this.body, 'data-counter', counters);
    const samples: [string, string][] = [];
    for (const [plugin, list] of Object.entries(node.plugins)) {
      for (const s of list) {
        const labels = Object.entries(s.labels ?? {})
          .map(([k, v]) => `${k}=${v}`)
          .join(', ');
        samples.push([`${plugin} · ${s.name}${labels === '' ? '' : ` {${labels}}`}`, whole.format(s.value)]);
      }
    }
    fill(this.plugins, 'data-sample', samples);
    this.plugins.parentElement!.hidden = samples.length === 0;
  }
}

function counterText(value: number | number[] | Record<string, unknown>): string {
  if (typeof value === 'number') return whole.format(value);
  if (Array.isArray(value)) return value.join(' · ');
  const topics = Object.keys(value).length;
  return `${topics} topic${topics === 1 ? '' : 's'}`;
}

/** Updates the rows of `body` in place (same rows while the names stay the same), one per `[name, value]`. */
function fill(body: HTMLTableSectionElement, attribute: string, rows: [name: string, value: string][]): void {
  const existing = [...body.rows];
  rows.forEach(([name, value], i) => {
    const row = existing[i];
    if (row === undefined || row.getAttribute(attribute) !== name) {
      const fresh = h('tr', { [attribute]: name }, h('th', { scope: 'row', class: 'mono' }, name), h('td', { class: 'num' }, value));
      if (row === undefined) body.append(fresh);
      else row.replaceWith(fresh);
      return;
    }
    const cell = row.cells[1]!;
    if (cell.textContent !== value) cell.textContent = value;
  });
  for (const row of existing.slice(rows.length)) row.remove();
}
