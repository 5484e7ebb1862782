import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { describe, expect, it } from 'vitest';
import {
  createRegistry,
  escapeHelp,
  escapeLabelValue,
  mergePrometheus,
  renderPrometheus,
  type Registry,
} from '../src/index.js';
import { validateExposition } from './exposition-validator.js';

function nodeRegistry(node: string): Registry {
  const r = createRegistry({ prefix: 'systemge_', constLabels: { node } });
  const received = r.counterFamily('messages_received_total', 'Messages received, by topic.', ['topic'], {
    maxSeries: 2,
  });
  received.labels('chat').inc(3);
  received.labels('news').inc();
  received.labels('spill').inc(2);
  r.gauge('connections', 'Open connections.').set(4);
  const latency = r.histogramFamily('sync_latency_ms', 'Sync request latency, ms.', ['topic'], {
    buckets: [1, 5, 25, 100],
  });
  for (const v of [0.2, 3, 3, 20, 80, 500]) latency.labels('chat').observe(v);
  latency.labels('news');
  return r;
}

describe('toPrometheus', () => {
  it('writes valid 0.0.4 text: every family has HELP and TYPE, histograms are cumulative and end at +Inf', () => {
    const text = nodeRegistry('alpha').toPrometheus();
    const families = validateExposition(text);
    expect(families.map((f) => [f.name, f.type])).toEqual([
      ['systemge_metrics_series_overflow_total', 'counter'],
      ['systemge_messages_received_total', 'counter'],
      ['systemge_connections', 'gauge'],
      ['systemge_sync_latency_ms', 'histogram'],
    ]);
    const hist = families[3]!;
    const chatBuckets = hist.samples
      .filter((s) => s.name.endsWith('_bucket') && s.labels.topic === 'chat')
      .map((s) => [s.labels.le, s.value]);
    expect(chatBuckets).toEqual([
      ['1', 1],
      ['5', 3],
      ['25', 4],
      ['100', 5],
      ['+Inf', 6],
    ]);
    for (const s of families.flatMap((f) => f.samples)) expect(s.labels.node).toBe('alpha');
  });

  it('is read identically by an independent parser', () => {
    const parsed = parsePrometheusTextFormat(nodeRegistry('alpha').toPrometheus());
    const byName = new Map(parsed.map((f) => [f.name, f]));
    expect(byName.get('systemge_messages_received_total')).toMatchObject({
      type: 'COUNTER',
      help: 'Messages received, by topic.',
      metrics: [
        { labels: { node: 'alpha', topic: 'chat' }, value: '3' },
        { labels: { node: 'alpha', topic: 'news' }, value: '1' },
        { labels: { node: 'alpha', topic: '__other__' }, value: '2' },
      ],
    });
    expect(byName.get('systemge_connections')).toMatchObject({
      type: 'GAUGE',
      metrics: [{ labels: { node: 'alpha' }, value: '4' }],
    });
  });

  it('writes an unlabeled histogram that an independent parser reads back', () => {
    // This parser folds only unlabeled histograms into buckets; labeled ones are checked by validateExposition.
    const r = createRegistry();
    const h = r.histogram('sync_latency_ms', 'Sync request latency, ms.', { buckets: [1, 5, 25, 100] });
    for (const v of [0.2, 3, 3, 20, 80, 500]) h.observe(v);
    const [family] = parsePrometheusTextFormat(r.toPrometheus());
    expect(family).toEqual({
      name: 'sync_latency_ms',
      help: 'Sync request latency, ms.',
      type: 'HISTOGRAM',
      metrics: [{ buckets: { '1': '1', '5': '3', '25': '4', '100': '5', '+Inf': '6' }, count: '6', sum: '606.2' }],
    });
  });

  it('escapes backslashes, quotes and line feeds in label values and HELP text', () => {
    const r = createRegistry({ constLabels: { path: 'C:\\dir' } });
    r.counterFamily('weird_total', 'Line one\nline two \\ "quoted"', ['v']).labels('a"b\\c\nd').inc();
    const text = r.toPrometheus();
    expect(text).toContain('# HELP weird_total Line one\\nline two \\\\ "quoted"\n');
    expect(text).toContain('weird_total{path="C:\\\\dir",v="a\\"b\\\\c\\nd"} 1\n');

    const [family] = validateExposition(text).filter((f) => f.name === 'weird_total');
    expect(family?.help).toBe('Line one\nline two \\ "quoted"');
    expect(family?.samples[0]?.labels).toEqual({ path: 'C:\\dir', v: 'a"b\\c\nd' });

    const parsed = parsePrometheusTextFormat(text).find((f) => f.name === 'weird_total');
    expect(parsed?.metrics[0]?.labels).toEqual({ path: 'C:\\dir', v: 'a"b\\c\nd' });
  });

  it('exports the escaping helpers', () => {
    expect(escapeLabelValue('plain')).toBe('plain');
    expect(escapeLabelValue('"\\\n')).toBe('\\"\\\\\\n');
    expect(escapeHelp('"\\\n')).toBe('"\\\\\\n');
  });

  it('writes non-finite gauge values as NaN, +Inf and -Inf', () => {
    const r = createRegistry();
    r.gauge('a', 'A.').set(NaN);
    r.gauge('b', 'B.').set(Infinity);
    r.gauge('c', 'C.').set(-Infinity);
    const text = r.toPrometheus();
    expect(text).toContain('\na NaN\n');
    expect(text).toContain('\nb +Inf\n');
    expect(text).toContain('\nc -Inf\n');
    validateExposition(text);
  });

  it('writes HELP and TYPE for a family that has no series yet', () => {
    const r = createRegistry();
    r.counterFamily('idle_total', 'Idle.', ['topic']);
    const text = r.toPrometheus();
    expect(text).toContain('# HELP idle_total Idle.\n# TYPE idle_total counter\n');
    validateExposition(text);
  });
});

describe('renderPrometheus / mergePrometheus', () => {
  it('exposes several nodes on one endpoint with one HELP and TYPE per family', () => {
    const text = renderPrometheus([nodeRegistry('alpha'), nodeRegistry('beta')]);
    const families = validateExposition(text);
    expect(text.match(/^# HELP systemge_connections /gm)).toHaveLength(1);
    expect(text.match(/^# TYPE systemge_sync_latency_ms /gm)).toHaveLength(1);
    const connections = families.find((f) => f.name === 'systemge_connections');
    expect(connections?.samples.map((s) => s.labels.node)).toEqual(['alpha', 'beta']);
    const latency = families.find((f) => f.name === 'systemge_sync_latency_ms');
    expect(new Set(latency?.samples.map((s) => s.labels.node))).toEqual(new Set(['alpha', 'beta']));
    expect(parsePrometheusTextFormat(text).map((f) => f.name)).toEqual(families.map((f) => f.name));
  });

  it('keeps families that only some sources have', () => {
    const a = createRegistry({ constLabels: { node: 'a' } });
    a.counter('only_a_total', 'A.').inc();
    const b = createRegistry({ constLabels: { node: 'b' } });
    b.gauge('only_b', 'B.').set(2);
    const families = validateExposition(renderPrometheus([a, b]));
    expect(families.map((f) => f.name)).toEqual(['only_a_total', 'only_b']);
  });

  it('drops a repeated series and the samples of a family whose TYPE disagrees', () => {
    const one = '# HELP x_total X.\n# TYPE x_total counter\nx_total{node="a"} 1\n';
    const two = '# HELP x_total X again.\n# TYPE x_total counter\nx_total{node="a"} 5\nx_total{node="b"} 2\n';
    const three = '# HELP x_total X.\n# TYPE x_total gauge\nx_total{node="c"} 9\n# HELP y Y.\n# TYPE y gauge\ny 1\n';
    const merged = mergePrometheus([one, two, three]);
    expect(merged).toBe(
      '# HELP x_total X.\n# TYPE x_total counter\nx_total{node="a"} 1\nx_total{node="b"} 2\n' +
        '# HELP y Y.\n# TYPE y gauge\ny 1\n',
    );
    validateExposition(merged);
  });

  it('tells series apart even when a label value contains a closing brace or a space', () => {
    const a = createRegistry({ constLabels: { node: 'a' } });
    a.counterFamily('t_total', 'T.', ['topic']).labels('x} 1').inc();
    const b = createRegistry({ constLabels: { node: 'a' } });
    b.counterFamily('t_total', 'T.', ['topic']).labels('x').inc();
    const family = validateExposition(renderPrometheus([a, b])).find((f) => f.name === 't_total');
    expect(family?.samples.map((s) => s.labels.topic)).toEqual(['x} 1', 'x']);
  });

  it('accepts CRLF line ends and untyped samples', () => {
    const merged = mergePrometheus(['# HELP a A.\r\n# TYPE a gauge\r\na 1\r\n', 'loose 3\n']);
    expect(merged).toBe('# HELP a A.\n# TYPE a gauge\na 1\nloose 3\n');
  });
});
