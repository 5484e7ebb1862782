/**
 * The mesh-formation benchmark in a small run (4 nodes in 2 processes, both variants) against a
 * real etcd: it must see the mesh form, count exactly the connections and dials the plan calls
 * for, and render them in its report, so the script cannot rot unnoticed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { meshFormationMarkdown, parseMeshOptions, planNodes, runMeshFormation } from '../src/mesh-formation.js';
import { etcdBinary } from '@systemge/discovery-etcd/testing';

test('the plan of the uses variant links each node to the services it uses and that use it', () => {
  const hosts = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6', '127.0.0.7'];
  const all = planNodes(6, 'all', 3, hosts);
  for (const node of all) assert.equal(node.expected.length, 5);
  const uses = planNodes(6, 'uses', 3, hosts);
  // n000 is service 0: it uses svc-1 (n001, n004) and is used by service 2 (n002, n005).
  assert.deepEqual(uses[0].expected.sort(), ['n001', 'n002', 'n004', 'n005']);
  assert.equal(uses[0].uses, 'svc-1');
  assert.equal(uses[0].host, '127.0.0.2');
});

test('options: --quick is a few nodes, lists split on commas, nonsense is refused', () => {
  const quick = parseMeshOptions(['--quick']);
  assert.equal(quick.nodes, 6);
  assert.deepEqual(parseMeshOptions(['--processes', '30,6']).processes, [30, 6]);
  assert.deepEqual(parseMeshOptions(['--nodes', '4', '--processes', '10']).processes, [4]);
  assert.throws(() => parseMeshOptions(['--connect', 'some']), /--connect/);
  assert.throws(() => parseMeshOptions(['--nodes', '300']), /at most 253/);
});

test('a quick run forms both meshes with one dial per pair and reports them', {
  skip: etcdBinary() !== undefined ? false : 'etcd is not installed (apt-get install -y etcd-server, or SYSTEMGE_ETCD)',
  timeout: 240_000,
}, async () => {
  const options = { ...parseMeshOptions(['--quick', '--nodes', '4', '--processes', '2']), timeoutSeconds: 120 };
  const results = await runMeshFormation(options, () => {});
  assert.equal(results.measurements.length, 2);
  const [all, uses] = results.measurements;
  for (const m of results.measurements) {
    assert.equal(m.formed, true, `${m.connect}: ${m.completeNodes} of 4 nodes complete`);
    assert.ok(m.firstSpawnToFullMs >= m.lastSpawnToFullMs);
    assert.equal(m.dials, m.pairs, `${m.connect}: dials`);
    assert.equal(m.duplicateDials, 0);
    assert.equal(m.failedDials, 0);
    assert.equal(m.refused, 0);
    assert.equal(m.selfDials, 0);
    assert.equal(m.gaveUp, 0);
    assert.equal(m.perNode.length, 4);
  }
  // 4 nodes: the full mesh is 3 peers each; with 3 services n000 and n003 share service 0, so
  // n000 has n001 (uses) and n002 (uses it): 2, and n001 has n000, n002, n003: 3.
  assert.deepEqual([all.connectionsPerNode.min, all.connectionsPerNode.max], [3, 3]);
  assert.equal(all.pairs, 6);
  assert.deepEqual(uses.perNode.map((n) => [n.name, n.connectionsIn + n.connectionsOut]).sort(), [
    ['n000', 2],
    ['n001', 3],
    ['n002', 3],
    ['n003', 2],
  ]);
  const markdown = meshFormationMarkdown(results);
  assert.match(markdown, /\| `connectTo: 'all'` +\| 4 in 2 /);
  assert.match(markdown, /\| `uses` \(3 services, each uses the next\) \| 4 in 2 /);
});
