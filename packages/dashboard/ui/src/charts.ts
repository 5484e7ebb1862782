import uPlot from 'uplot';
import { h } from './dom.js';
import { formatBytes, formatClock, formatCount, formatMs } from './format.js';
import type { MetricsSummary } from './messages.js';
import { uniqueLabels, yStep } from './layout.js';
import type { Store } from './store.js';

const KEYS = [
  'messagesIn',
  'messagesOut',
  'bytesIn',
  'bytesOut',
  'syncSent',
  'syncReceived',
  'latencyP50',
  'latencyP99',
  'connectionsIn',
  'connectionsOut',
  'heap',
  'lag',
  'rejected',
] as const;
export type SeriesKey = (typeof KEYS)[number];
type Point = Record<SeriesKey, number | null>;

/** Points kept per scope: ten minutes at the default one-second interval. */
const MAX_POINTS = 600;
/** Scope of the sum over every node. */
export const TOTAL = '*';

/** The recent figures of one node, or of all nodes together. `t` is in seconds, as uPlot wants it. */
export class History {
  readonly t: number[] = [];
  readonly values = Object.fromEntries(KEYS.map((k) => [k, [] as (number | null)[]])) as Record<SeriesKey, (number | null)[]>;

  push(timestampMs: number, point: Point): void {
    const t = timestampMs / 1000;
    // Feeds reconnecting can repeat a timestamp; uPlot needs x ascending.
    const last = this.t[this.t.length - 1];
    if (last !== undefined && t <= last) return;
    this.t.push(t);
    for (const key of KEYS) this.values[key].push(point[key]);
    if (this.t.length > MAX_POINTS) {
      this.t.shift();
      for (const key of KEYS) this.values[key].shift();
    }
  }
}

function pointOf(s: MetricsSummary): Point {
  return {
    messagesIn: s.messagesReceivedPerSecond,
    messagesOut: s.messagesSentPerSecond,
    bytesIn: s.bytesReceivedPerSecond,
    bytesOut: s.bytesSentPerSecond,
    syncSent: s.syncRequestsSentPerSecond ?? null,
    syncReceived: s.syncRequestsReceivedPerSecond ?? null,
    latencyP50: s.syncLatencyP50Ms,
    latencyP99: s.syncLatencyP99Ms,
    connectionsIn: s.connectionsIn,
    connectionsOut: s.connectionsOut,
    heap: s.heapUsedBytes,
    lag: s.eventLoopLagP99Ms,
    rejected: s.rejectedPerSecond,
  };
}

interface ChartDef {
  id: string;
  title: string;
  series: readonly (readonly [SeriesKey, string])[];
  format: (value: number | null) => string;
  /** `bytes`: steps in powers of 1024; `integer`: whole steps; `decimal`: steps ≥ `minStep`. */
  steps: 'bytes' | 'integer' | 'decimal';
  /** Smallest y step, so that no two tick labels read the same once formatted. */
  minStep: number;
}

const rate = (v: number | null): string => (v === null ? '–' : `${formatCount(v)}/s`);
const bytesRate = (v: number | null): string => (v === null ? '–' : `${formatBytes(v)}/s`);

const CHARTS: readonly ChartDef[] = [
  {
    id: 'messages',
    title: 'Messages',
    series: [
      ['messagesIn', 'in'],
      ['messagesOut', 'out'],
    ],
    format: rate,
    steps: 'decimal',
    minStep: 0.1,
  },
  {
    id: 'bytes',
    title: 'Bytes',
    series: [
      ['bytesIn', 'in'],
      ['bytesOut', 'out'],
    ],
    format: bytesRate,
    steps: 'bytes',
    minStep: 1,
  },
  {
    id: 'sync',
    title: 'Sync requests',
    series: [
      ['syncSent', 'sent'],
      ['syncReceived', 'served'],
    ],
    format: rate,
    steps: 'decimal',
    minStep: 0.1,
  },
  {
    id: 'latency',
    title: 'Sync latency',
    series: [
      ['latencyP50', 'p50'],
      ['latencyP99', 'p99'],
    ],
    format: formatMs,
    steps: 'decimal',
    minStep: 0.01,
  },
  {
    id: 'connections',
    title: 'Connections',
    series: [
      ['connectionsIn', 'in'],
      ['connectionsOut', 'out'],
    ],
    format: (v) => formatCount(v),
    steps: 'integer',
    minStep: 1,
  },
  { id: 'heap', title: 'Heap used', series: [['heap', 'heap']], format: formatBytes, steps: 'bytes', minStep: 1 },
  { id: 'lag', title: 'Event-loop lag', series: [['lag', 'p99']], format: formatMs, steps: 'decimal', minStep: 0.01 },
  { id: 'rejected', title: 'Rejected messages', series: [['rejected', 'rejected']], format: rate, steps: 'decimal', minStep: 0.1 },
];

/** Plot height in CSS pixels. */
const PLOT_HEIGHT = 130;

const COLORS = [
  { stroke: '#2563eb', fill: 'rgba(37, 99, 235, 0.10)' },
  { stroke: '#d97706', fill: 'rgba(217, 119, 6, 0.08)' },
];

interface Chart {
  def: ChartDef;
  figure: HTMLElement;
  plot: uPlot;
  values: HTMLElement[];
  hovering: boolean;
}

/** Live uPlot charts of one node or of all nodes, fed by the metrics messages of the feed. */
export class ChartPanel {
  readonly element: HTMLElement;
  private readonly histories = new Map<string, History>();
  private readonly charts: Chart[] = [];
  private readonly select: HTMLSelectElement;
  private scope = TOTAL;
  private reported = new Set<string>();
  private flushTimer: number | undefined;

  constructor(private readonly store: Store) {
    this.histories.set(TOTAL, new History());
    this.select = h('select', { id: 'chart-scope', onchange: () => this.show(this.select.value) });
    const grid = h('div', { class: 'chart-grid' });
    this.element = h(
      'section',
      { class: 'card charts', 'aria-labelledby': 'charts-title' },
      h(
        'header',
        { class: 'card-head' },
        h('h2', { id: 'charts-title' }, 'Live metrics'),
        h('div', { class: 'inline-field' }, h('label', { for: 'chart-scope' }, 'Show'), this.select),
      ),
      grid,
    );
    for (const def of CHARTS) this.charts.push(this.createChart(def, grid));
    new ResizeObserver(() => this.resize()).observe(grid);
    this.fillScopes();

    store.subscribe((change) => {
      if (change.kind === 'nodes') this.fillScopes();
      if (change.kind !== 'metrics') return;
      let history = this.histories.get(change.name);
      if (history === undefined) this.histories.set(change.name, (history = new History()));
      history.push(change.timestamp, pointOf(change.summary));
      if (this.scope === change.name) this.render();
      // Nodes report within a few ms of each other each interval; one total point per interval.
      if (this.reported.has(change.name)) this.flushTotal();
      this.reported.add(change.name);
      if (this.flushTimer === undefined) this.flushTimer = window.setTimeout(() => this.flushTotal(), 60);
    });
  }

  /** The recorded points of a scope (a node name, or `*` for all nodes); for tests and the console. */
  history(scope: string): History | undefined {
    return this.histories.get(scope);
  }

  /**
   * What each chart drew, for tests: y tick labels, the top of the y scale and its top gridline, the
   * highest value shown, and where the rightmost time label ends (CSS px) against the chart width.
   */
  geometry(): {
    id: string;
    xLabels: string[];
    yLabels: string[];
    yTop: number;
    yTopGridline: number;
    dataMax: number;
    xLabelsRight: number;
    width: number;
  }[] {
    const measure = document.createElement('canvas').getContext('2d')!;
    measure.font = '11px system-ui, sans-serif';
    return this.charts.map(({ def, plot }) => {
      const axes = plot.axes as unknown as { _values?: (string | number | null)[]; _splits?: number[] }[];
      const xValues = axes[0]?._values ?? [];
      const xSplits = axes[0]?._splits ?? [];
      const left = plot.bbox.left / devicePixelRatio;
      let xLabelsRight = 0;
      xSplits.forEach((v, i) => {
        const label = String(xValues[i] ?? '');
        if (label === '') return;
        xLabelsRight = Math.max(xLabelsRight, left + plot.valToPos(v, 'x') + measure.measureText(label).width / 2);
      });
      const ySplits = axes[1]?._splits ?? [];
      const data = plot.data
        .slice(1)
        .flat()
        .filter((v): v is number => typeof v === 'number');
      return {
        id: def.id,
        xLabels: xValues.map((v) => String(v ?? '')),
        yLabels: (axes[1]?._values ?? []).map((v) => String(v ?? '')),
        yTop: plot.scales['y']?.max ?? 0,
        yTopGridline: ySplits[ySplits.length - 1] ?? 0,
        dataMax: data.length === 0 ? 0 : Math.max(...data),
        xLabelsRight,
        width: plot.width,
      };
    });
  }

  get currentScope(): string {
    return this.scope;
  }

  show(scope: string): void {
    this.scope = scope;
    if (this.select.value !== scope) this.select.value = scope;
    this.render();
  }

  private fillScopes(): void {
    const options = [h('option', { value: TOTAL }, 'All nodes (total)')];
    for (const name of this.store.nodes.keys()) options.push(h('option', { value: name }, name));
    this.select.replaceChildren(...options);
    if (this.scope !== TOTAL && !this.store.nodes.has(this.scope)) this.scope = TOTAL;
    this.select.value = this.scope;
    this.render();
  }

  private flushTotal(): void {
    window.clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.reported.size === 0) return;
    this.reported.clear();
    const total: Point = Object.fromEntries(KEYS.map((k) => [k, 0])) as Point;
    const heapByProcess = new Map<number | string, number>();
    let latency50: number | null = null;
    let latency99: number | null = null;
    let lag: number | null = null;
    let sync = false;
    for (const node of this.store.nodes.values()) {
      const s = node.metrics;
      if (s === null || node.status === 'disconnected') continue;
      const p = pointOf(s);
      for (const key of ['messagesIn', 'messagesOut', 'bytesIn', 'bytesOut', 'connectionsIn', 'connectionsOut', 'rejected'] as const) {
        total[key] = (total[key] ?? 0) + (p[key] ?? 0);
      }
      if (p.syncSent !== null || p.syncReceived !== null) sync = true;
      total.syncSent = (total.syncSent ?? 0) + (p.syncSent ?? 0);
      total.syncReceived = (total.syncReceived ?? 0) + (p.syncReceived ?? 0);
      // Latency and lag: the worst node is what an operator needs to see.
      if (p.latencyP50 !== null) latency50 = Math.max(latency50 ?? 0, p.latencyP50);
      if (p.latencyP99 !== null) latency99 = Math.max(latency99 ?? 0, p.latencyP99);
      if (p.lag !== null) lag = Math.max(lag ?? 0, p.lag);
      // Nodes of one process share its heap: count each process once.
      if (p.heap !== null) heapByProcess.set(node.pid ?? node.name, p.heap);
    }
    total.latencyP50 = latency50;
    total.latencyP99 = latency99;
    total.lag = lag;
    total.heap = heapByProcess.size === 0 ? null : [...heapByProcess.values()].reduce((a, b) => a + b, 0);
    if (!sync) total.syncSent = total.syncReceived = null;
    this.histories.get(TOTAL)!.push(Date.now(), total);
    if (this.scope === TOTAL) this.render();
  }

  private createChart(def: ChartDef, grid: HTMLElement): Chart {
    const values: HTMLElement[] = [];
    const legend = h('div', { class: 'chart-legend' });
    def.series.forEach(([, label], i) => {
      const value = h('strong', null, '–');
      values.push(value);
      legend.append(h('span', { class: `legend-item c${i}` }, h('i', { 'aria-hidden': 'true' }), `${label} `, value));
    });
    const plotHost = h('div', { class: 'plot' });
    const figure = h(
      'figure',
      { class: 'chart', 'data-chart': def.id, 'data-points': '0', 'aria-label': `${def.title} chart` },
      h('figcaption', null, h('span', { class: 'chart-title' }, def.title), legend),
      plotHost,
    );
    grid.append(figure);
    const axisFormat = (v: number): string => def.format(v);
    const chart: Chart = { def, figure, values, hovering: false, plot: undefined as unknown as uPlot };
    // Set by the y range, read by the y splits of the same redraw.
    let step = def.minStep;
    chart.plot = new uPlot(
      {
        width: 320,
        height: PLOT_HEIGHT,
        legend: { show: false },
        cursor: { drag: { x: false, y: false }, points: { size: 6 } },
        // Top: half a y label above the top gridline. Right: half a time label ("14:03:27"), so the last one is not cut off.
        padding: [8, 28, 0, 0],
        scales: {
          x: { time: true },
          y: {
            range: (_u, _min, max) => {
              step = yStep(max, def);
              const top = Math.max(1, Math.ceil((max * 1.05) / step - 1e-9)) * step;
              return [0, top];
            },
          },
        },
        axes: [
          {
            stroke: '#64748b',
            grid: { stroke: '#eef2f7', width: 1 },
            ticks: { show: false },
            size: 24,
            space: 72,
            font: '11px system-ui, sans-serif',
            // Whole seconds at least: the labels show seconds, so finer steps would repeat them.
            incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600],
            values: (_u, splits) => uniqueLabels(splits, (v) => formatClock(v * 1000)),
          },
          {
            stroke: '#64748b',
            grid: { stroke: '#eef2f7', width: 1 },
            ticks: { show: false },
            size: 64,
            space: 28,
            font: '11px system-ui, sans-serif',
            splits: (_u, _axis, _min, max) => {
              const out: number[] = [];
              for (let i = 0; i * step <= max * (1 + 1e-9); i++) out.push(i * step);
              return out;
            },
            values: (_u, splits) => uniqueLabels(splits, axisFormat),
          },
        ],
        series: [
          {},
          ...def.series.map(([, label], i) => ({
            label,
            stroke: COLORS[i]!.stroke,
            // One filled area per chart: two overlapping fills would muddy each other.
            ...(i === 0 ? { fill: COLORS[i]!.fill } : {}),
            width: 1.75,
            points: { show: false },
          })),
        ],
        hooks: {
          setCursor: [
            (u: uPlot) => {
              const idx = u.cursor.idx;
              chart.hovering = idx !== null && idx !== undefined;
              this.writeLegend(chart, chart.hovering ? idx! : undefined);
            },
          ],
        },
      },
      [[], ...def.series.map(() => [])],
      plotHost,
    );
    return chart;
  }

  private writeLegend(chart: Chart, index: number | undefined): void {
    const history = this.histories.get(this.scope);
    chart.def.series.forEach(([key], i) => {
      const column = history?.values[key] ?? [];
      const v = index === undefined ? column[column.length - 1] : column[index];
      chart.values[i]!.textContent = chart.def.format(v ?? null);
    });
  }

  private render(): void {
    const history = this.histories.get(this.scope) ?? new History();
    for (const chart of this.charts) {
      const data: uPlot.AlignedData = [history.t, ...chart.def.series.map(([key]) => history.values[key])];
      chart.plot.setData(data);
      chart.figure.dataset['points'] = String(history.t.length);
      if (!chart.hovering) this.writeLegend(chart, undefined);
    }
  }

  private resize(): void {
    for (const chart of this.charts) {
      const width = Math.floor(chart.figure.clientWidth - 2);
      if (width > 0 && width !== chart.plot.width) chart.plot.setSize({ width, height: PLOT_HEIGHT });
    }
  }
}
