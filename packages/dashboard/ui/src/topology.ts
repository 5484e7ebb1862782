import { h, svg } from './dom.js';
import { type Box, CHAR_WIDTH, clearance, LABEL_GAP, LABEL_HEIGHT, RADIUS } from './layout.js';
import type { Store } from './store.js';

const WIDTH = 480;
const HEIGHT = 300;

/**
 * Who is connected to whom: nodes on a circle, an arrow from the node that dialed to the one it dialed.
 * A dashed line joins a node and a member its discovery lists without a connection; members known only
 * through discovery get a dashed vertex. A node whose discovery is degraded wears a red ring. Nodes
 * whose link is gone (`disconnected`) leave the drawing; the node list keeps them.
 */
export class TopologyView {
  readonly element: HTMLElement;
  private readonly canvas: SVGSVGElement;
  private readonly list: HTMLUListElement;

  constructor(private readonly store: Store) {
    this.canvas = svg('svg', {
      viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
      class: 'topology-svg',
      role: 'img',
      'aria-labelledby': 'topology-title topology-desc',
    });
    this.list = h('ul', { id: 'topology-desc', class: 'sr-only' });
    this.element = h(
      'section',
      { class: 'card topology', 'aria-labelledby': 'topology-title' },
      h(
        'header',
        { class: 'card-head' },
        h('h2', { id: 'topology-title' }, 'Topology'),
        h(
          'span',
          { class: 'hint' },
          h('span', { class: 'arrow-key', 'aria-hidden': 'true' }, 'A → B'),
          ' A dialed B · ',
          h('span', { class: 'arrow-key discovered-key', 'aria-hidden': 'true' }, 'A ┄ B'),
          ' discovered, not connected',
        ),
      ),
      this.canvas,
      this.list,
    );
    store.subscribe((change) => {
      if (change.kind === 'nodes' || change.kind === 'topology' || change.kind === 'status') this.render();
    });
    this.render();
  }

  private render(): void {
    // A node whose link is gone has left: the list keeps it, the drawing does not.
    const names = this.store
      .list()
      .filter((n) => n.status !== 'disconnected')
      .map((n) => n.name);
    // A peer the dashboard does not track (e.g. a node without a dashboard link) still gets a vertex,
    // and so does a member known only through discovery.
    const connected = new Set<string>();
    for (const e of this.store.edges) for (const n of [e.from, e.to]) connected.add(n);
    for (const e of [...this.store.edges, ...this.store.discovered]) for (const n of [e.from, e.to]) if (!names.includes(n)) names.push(n);
    const positions = new Map<string, { x: number; y: number; label: Box; above: boolean }>();
    const cx = WIDTH / 2;
    const cy = HEIGHT / 2;
    const r = Math.min(WIDTH, HEIGHT) / 2 - 48;
    const labelOf = (name: string): string => (name.length > 18 ? `${name.slice(0, 17)}…` : name);
    names.forEach((name, i) => {
      const angle = names.length === 1 ? Math.PI / 2 : -Math.PI / 2 + (2 * Math.PI * i) / names.length;
      const x = names.length === 1 ? cx : cx + r * Math.cos(angle) * 1.35;
      const y = names.length === 1 ? cy : cy + r * Math.sin(angle);
      // Vertices in the upper part carry their name above, the others below: lines towards the
      // other vertices then leave on the side away from the name.
      const above = Math.sin(angle) < -0.5;
      const halfWidth = (labelOf(name).length * CHAR_WIDTH) / 2;
      const label = above
        ? { x0: -halfWidth, x1: halfWidth, y0: -RADIUS - LABEL_GAP - LABEL_HEIGHT, y1: -RADIUS - LABEL_GAP }
        : { x0: -halfWidth, x1: halfWidth, y0: RADIUS + LABEL_GAP, y1: RADIUS + LABEL_GAP + LABEL_HEIGHT };
      positions.set(name, { x, y, label, above });
    });

    const defs = svg(
      'defs',
      null,
      svg(
        'marker',
        { id: 'arrow', viewBox: '0 0 10 10', refX: '9', refY: '5', markerWidth: '7', markerHeight: '7', orient: 'auto-start-reverse' },
        svg('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrow-head' }),
      ),
    );
    const edges = svg('g', { class: 'edges' });
    const pairs = new Set(this.store.edges.map((e) => `${e.from}\u0000${e.to}`));
    for (const e of this.store.edges) {
      const a = positions.get(e.from);
      const b = positions.get(e.to);
      if (a === undefined || b === undefined || e.from === e.to) continue;
      const dx = b.x - a.x;
      const dy = b.y - a.y;
      const len = Math.hypot(dx, dy) || 1;
      const ux = dx / len;
      const uy = dy / len;
      // Two nodes that dialed each other: offset both arrows so they do not overlap.
      const both = pairs.has(`${e.to}\u0000${e.from}`);
      const ox = both ? -uy * 6 : 0;
      const oy = both ? ux * 6 : 0;
      edges.append(
        svg('line', {
          class: 'edge',
          'data-from': e.from,
          'data-to': e.to,
          x1: (a.x + ux * (clearance(ux, uy, a.label) - 2) + ox).toFixed(1),
          y1: (a.y + uy * (clearance(ux, uy, a.label) - 2) + oy).toFixed(1),
          x2: (b.x - ux * clearance(-ux, -uy, b.label) + ox).toFixed(1),
          y2: (b.y - uy * clearance(-ux, -uy, b.label) + oy).toFixed(1),
          'marker-end': 'url(#arrow)',
        }),
      );
    }
    // Discovery links without a connection: one dashed line per pair, whichever side knows the other.
    const links = svg('g', { class: 'discovered-links' });
    const drawn = new Set<string>();
    for (const e of this.store.discovered) {
      const pair = e.from < e.to ? `${e.from}\u0000${e.to}` : `${e.to}\u0000${e.from}`;
      const a = positions.get(e.from);
      const b = positions.get(e.to);
      if (a === undefined || b === undefined || e.from === e.to || drawn.has(pair)) continue;
      drawn.add(pair);
      const dx = b.x - a.x;
      const dy = b.y - a.y;
      const len = Math.hypot(dx, dy) || 1;
      const ux = dx / len;
      const uy = dy / len;
      links.append(
        svg('line', {
          class: 'discovered-link',
          'data-from': e.from,
          'data-to': e.to,
          x1: (a.x + ux * clearance(ux, uy, a.label)).toFixed(1),
          y1: (a.y + uy * clearance(ux, uy, a.label)).toFixed(1),
          x2: (b.x - ux * clearance(-ux, -uy, b.label)).toFixed(1),
          y2: (b.y - uy * clearance(-ux, -uy, b.label)).toFixed(1),
        }),
      );
    }
    const vertices = svg('g', { class: 'vertices' });
    for (const name of names) {
      const p = positions.get(name)!;
      const node = this.store.nodes.get(name);
      // Not on this dashboard: a peer it sees connected (`unknown`), or a member known only through discovery.
      const status = node?.status ?? (connected.has(name) ? 'unknown' : 'discovered');
      const discovery = node?.discovery ?? null;
      const degraded = discovery?.degraded === true;
      const label = labelOf(name);
      const about =
        node === undefined
          ? status === 'discovered'
            ? ' (known through discovery, not connected, not on this dashboard)'
            : ' (not on this dashboard)'
          : discovery === null
            ? ''
            : degraded
              ? ` · ${discovery.kind} discovery degraded: ${discovery.degradedReason ?? 'backend unreachable'}`
              : ` · ${discovery.kind} discovery: ${discovery.memberCount} members`;
      // Baseline a little above the box's bottom edge (descenders).
      const baseline = p.above ? -RADIUS - LABEL_GAP - 3 : RADIUS + LABEL_GAP + LABEL_HEIGHT - 3;
      vertices.append(
        svg(
          'g',
          {
            class: `vertex ${status}${degraded ? ' degraded' : ''}`,
            'data-node': name,
            'data-status': status,
            ...(discovery === null ? {} : { 'data-discovery': degraded ? 'degraded' : 'ok' }),
            transform: `translate(${p.x.toFixed(1)} ${p.y.toFixed(1)})`,
          },
          svg('title', null, `${name}: ${status}${about}`),
          ...(degraded ? [svg('circle', { class: 'degraded-ring', r: RADIUS + 5 })] : []),
          svg('circle', { r: RADIUS }),
          svg('circle', { class: 'core', r: 6 }),
          svg('text', { class: 'label', 'text-anchor': 'middle', y: baseline }, label),
        ),
      );
    }
    if (names.length === 0) {
      vertices.append(svg('text', { class: 'empty-text', x: cx, y: cy, 'text-anchor': 'middle' }, 'No nodes'));
    }
    this.canvas.replaceChildren(defs, links, edges, vertices);
    this.canvas.dataset['edges'] = String(this.store.edges.length);
    this.canvas.dataset['discovered'] = String(drawn.size);
    this.list.replaceChildren(
      ...(this.store.edges.length === 0
        ? [h('li', null, 'No connections between nodes.')]
        : this.store.edges.map((e) => h('li', null, `${e.from} dialed ${e.to}`))),
      ...this.store.discovered.map((e) => h('li', null, `${e.from} knows ${e.to} through discovery, not connected`)),
      ...this.store
        .list()
        .filter((n) => n.status !== 'disconnected' && n.discovery?.degraded === true)
        .map((n) => h('li', null, `${n.name}: ${n.discovery?.kind} discovery degraded`)),
    );
  }
}
