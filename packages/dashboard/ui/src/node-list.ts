import { h } from './dom.js';
import { formatCount, formatDuration } from './format.js';
import type { NodeStatus } from './messages.js';
import { currentUptime, type NodeView, type Store } from './store.js';

export type NodeAction = 'start' | 'stop' | 'restart';

/** Which actions make sense in which status. */
export function actionAllowed(action: NodeAction, status: NodeStatus): boolean {
  if (action === 'start') return status === 'stopped';
  return status === 'started';
}

interface Row {
  row: HTMLTableRowElement;
  status: HTMLElement;
  address: HTMLElement;
  discovery: HTMLElement;
  uptime: HTMLElement;
  rates: HTMLElement;
  connections: HTMLElement;
  buttons: Record<NodeAction, HTMLButtonElement>;
  busy: boolean;
}

const ACTION_LABELS: Record<NodeAction, string> = { start: 'Start', stop: 'Stop', restart: 'Restart' };

/** The node table: live status, address, uptime, traffic, and start / stop / restart per node. */
export class NodeList {
  readonly element: HTMLElement;
  private readonly body: HTMLTableSectionElement;
  private readonly empty: HTMLElement;
  private readonly rows = new Map<string, Row>();

  constructor(
    private readonly store: Store,
    private readonly run: (name: string, action: NodeAction) => Promise<void>,
  ) {
    this.body = h('tbody');
    this.empty = h('p', { class: 'empty' }, 'No nodes yet. Add one with dashboard.addNode(node) or link one with connectDashboard().');
    this.element = h(
      'section',
      { class: 'card nodes', 'aria-labelledby': 'nodes-title' },
      h('header', { class: 'card-head' }, h('h2', { id: 'nodes-title' }, 'Nodes')),
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'node-table' },
          h(
            'thead',
            null,
            h(
              'tr',
              null,
              h('th', { scope: 'col' }, 'Status'),
              h('th', { scope: 'col' }, 'Node · address'),
              h('th', { scope: 'col', class: 'num' }, 'Uptime'),
              h('th', { scope: 'col', class: 'num', title: 'Messages per second received / sent' }, 'Msg/s in · out'),
              h('th', { scope: 'col', class: 'num' }, 'Peers'),
              h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Actions')),
            ),
          ),
          this.body,
        ),
      ),
      this.empty,
    );
    store.subscribe((change) => {
      if (change.kind === 'nodes') this.rebuild();
      else if (change.kind === 'status' || change.kind === 'metrics') this.update(change.name);
    });
  }

  /** Re-reads the clock for the uptime column. */
  tick(): void {
    for (const name of this.rows.keys()) this.updateUptime(name);
  }

  private rebuild(): void {
    const names = new Set(this.store.nodes.keys());
    for (const [name, row] of this.rows) {
      if (!names.has(name)) {
        row.row.remove();
        this.rows.delete(name);
      }
    }
    for (const node of this.store.list()) {
      let row = this.rows.get(node.name);
      if (row === undefined) row = this.createRow(node);
      this.body.append(row.row);
      this.update(node.name);
    }
    this.empty.hidden = this.rows.size > 0;
    this.element.dataset['count'] = String(this.rows.size);
    if (this.store.loaded && !performance.getEntriesByName('nodes-shown').length) performance.mark('nodes-shown');
  }

  private createRow(node: NodeView): Row {
    const button = (action: NodeAction): HTMLButtonElement =>
      h(
        'button',
        {
          type: 'button',
          class: `btn small ${action === 'stop' ? 'danger' : ''}`,
          'aria-label': `${ACTION_LABELS[action]} ${node.name}`,
          'data-action': action,
          onclick: () => void this.act(node.name, action),
        },
        ACTION_LABELS[action],
      );
    const buttons = { start: button('start'), stop: button('stop'), restart: button('restart') };
    const status = h('span', { class: 'badge' });
    const address = h('span', { class: 'mono address' });
    const discovery = h('span', { class: 'discovery' });
    const uptime = h('td', { class: 'num uptime', 'data-label': 'Uptime' });
    const rates = h('td', { class: 'num rates', 'data-label': 'Msg/s in · out' });
    const connections = h('td', { class: 'num peers', 'data-label': 'Peers' });
    const row = h(
      'tr',
      { 'data-node': node.name },
      h('td', { class: 'status-cell' }, status),
      h(
        'th',
        { scope: 'row', class: 'name' },
        h('span', { class: 'node-name' }, node.name),
        h('span', { class: `kind ${node.kind}` }, node.kind),
        address,
        discovery,
      ),
      uptime,
      rates,
      connections,
      h('td', { class: 'actions-cell' }, h('div', { class: 'actions' }, buttons.start, buttons.stop, buttons.restart)),
    );
    const entry: Row = { row, status, address, discovery, uptime, rates, connections, buttons, busy: false };
    this.rows.set(node.name, entry);
    return entry;
  }

  private async act(name: string, action: NodeAction): Promise<void> {
    const row = this.rows.get(name);
    if (row === undefined || row.busy) return;
    row.busy = true;
    row.row.setAttribute('aria-busy', 'true');
    this.update(name);
    try {
      await this.run(name, action);
    } finally {
      row.busy = false;
      row.row.removeAttribute('aria-busy');
      this.update(name);
    }
  }

  private update(name: string): void {
    const node = this.store.nodes.get(name);
    const row = this.rows.get(name);
    if (node === undefined || row === undefined) return;
    row.row.dataset['status'] = node.status;
    row.status.textContent = node.status;
    row.status.className = `badge ${node.status}`;
    row.status.dataset['status'] = node.status;
    row.address.textContent = node.address === null ? 'not listening' : `${node.address.host}:${node.address.port}`;
    row.address.classList.toggle('none', node.address === null);
    this.updateDiscovery(node, row.discovery);
    const m = node.metrics;
    const live = node.status !== 'disconnected' && m !== null;
    row.rates.textContent = live ? `${formatCount(m.messagesReceivedPerSecond)} · ${formatCount(m.messagesSentPerSecond)}` : '–';
    row.connections.textContent = node.status === 'disconnected' ? '–' : String(node.connections);
    for (const action of ['start', 'stop', 'restart'] as const) {
      row.buttons[action].disabled = row.busy || !actionAllowed(action, node.status);
    }
    this.updateUptime(name);
  }

  /** The discovery badge: the source and its member count, or that it is degraded and why. */
  private updateDiscovery(node: NodeView, badge: HTMLElement): void {
    const d = node.discovery;
    // A node whose link is gone reports nothing current about its discovery.
    if (d === null || node.status === 'disconnected') {
      badge.hidden = true;
      delete badge.dataset['state'];
      return;
    }
    badge.hidden = false;
    badge.dataset['state'] = d.degraded ? 'degraded' : 'ok';
    badge.className = `discovery ${d.degraded ? 'degraded' : 'ok'}`;
    const members = `${d.memberCount} member${d.memberCount === 1 ? '' : 's'}`;
    badge.textContent = d.degraded ? `${d.kind} degraded` : `${d.kind} · ${members}`;
    const skipped = Object.entries(d.skipped.byReason)
      .map(([reason, count]) => `${reason} ${count}`)
      .join(', ');
    badge.title = [
      d.degraded ? `${d.kind} discovery degraded: ${d.degradedReason ?? 'backend unreachable'}` : `${d.kind} discovery`,
      `${members}${d.memberCount === 0 ? '' : `: ${d.members.map((m) => m.name ?? m.id).join(', ')}`}`,
      ...(d.skipped.total === 0 ? [] : [`skipped records: ${skipped}`]),
    ].join('\n');
    badge.setAttribute('aria-label', badge.title.replaceAll('\n', '; '));
  }

  private updateUptime(name: string): void {
    const node = this.store.nodes.get(name);
    const row = this.rows.get(name);
    if (node === undefined || row === undefined) return;
    const uptime = currentUptime(node);
    row.uptime.textContent = uptime === undefined ? '–' : formatDuration(uptime);
  }
}
