import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

/*
 * The manifests cannot be applied here: they are parsed, checked for the links between them
 * (labels, names, ports, files), and the configuration files they embed pass `systemge validate`
 * with the environment their Deployments give them.
 */

const here = fileURLToPath(new URL('..', import.meta.url));
const systemge = join(dirname(createRequire(import.meta.url).resolve('@systemge/cli/package.json')), 'bin', 'systemge.js');

interface Container {
  args: string[];
  env: { name: string; value?: string }[];
  ports: unknown[];
}

interface Manifest {
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: {
    clusterIP?: string;
    ports?: unknown[];
    selector?: Record<string, string>;
    template?: { metadata: { labels: Record<string, string> }; spec: { containers: Container[] } };
  };
  data?: Record<string, string>;
}

const text = readFileSync(join(here, 'kubernetes', 'mesh.yaml'), 'utf8');
const documents = parseAllDocuments(text);
const manifests = (Array.isArray(documents) ? documents : [documents]).map((d) => {
  expect(d.errors, `YAML errors in kubernetes/mesh.yaml`).toEqual([]);
  return d.toJS() as Manifest;
});
const byKind = (kind: string): Manifest[] => manifests.filter((m) => m.kind === kind);
const configMap = byKind('ConfigMap')[0] as Manifest;
const service = byKind('Service')[0] as Manifest;
const deployments = byKind('Deployment');

/** A file of the ConfigMap, with the image's application path replaced by the example's own. */
function configFile(name: string): string {
  const content = configMap.data?.[name];
  if (content === undefined) throw new Error(`${name} is not in the ConfigMap`);
  return content.replace('/app/service.js', join(here, 'service.js'));
}

/** A Deployment's container. */
function containerOf(deployment: Manifest): Container {
  const container = deployment.spec?.template?.spec.containers[0];
  if (container === undefined) throw new Error(`${deployment.metadata.name} has no container`);
  return container;
}

describe('the Kubernetes manifests', () => {
  it('parse, and everything lives in one namespace', () => {
    expect(manifests.map((m) => m.kind).sort()).toEqual([
      'ConfigMap',
      'Deployment',
      'Deployment',
      'Deployment',
      'Namespace',
      'Secret',
      'Service',
    ]);
    for (const m of manifests.filter((m) => m.kind !== 'Namespace')) expect(m.metadata.namespace, m.metadata.name).toBe('systemge-mesh');
  });

  it('the headless Service selects the catalog and stock pods, and its SRV name is the one the orders nodes resolve', () => {
    expect(service.spec?.clusterIP).toBe('None');
    expect(service.spec?.ports).toEqual([{ name: 'systemge', port: 4000, targetPort: 'systemge', protocol: 'TCP' }]);
    const selected = deployments.filter((d) =>
      Object.entries(service.spec?.selector ?? {}).every(([k, v]) => d.spec?.template?.metadata.labels[k] === v),
    );
    expect(selected.map((d) => d.metadata.name).sort()).toEqual(['catalog', 'stock']);
    expect(configFile('orders.yaml')).toContain(
      `name: _systemge._tcp.${service.metadata.name}.${service.metadata.namespace}.svc.cluster.local`,
    );
  });

  it('the files the Deployments start exist in the ConfigMap and pass `systemge validate`', { timeout: 120_000 }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'systemge-mesh-k8s-'));
    for (const deployment of deployments) {
      const container = containerOf(deployment);
      expect(container.args.slice(0, 2)).toEqual(['start', expect.stringMatching(/^\/etc\/systemge\//)]);
      const name = (container.args[1] as string).slice('/etc/systemge/'.length);
      expect(container.ports).toEqual([{ name: 'systemge', containerPort: 4000 }]);
      // The image puts the application at /app/service.js; here it is the example's own.
      const file = join(dir, `${deployment.metadata.name}-${name}`);
      writeFileSync(file, configFile(name));
      const env: Record<string, string> = {
        PATH: process.env.PATH ?? '',
        POD_NAME: `${deployment.metadata.name}-7d9f8c6b5-x2x4q`,
        POD_IP: '10.1.2.3',
        SYSTEMGE_MESH_TOKEN: 'a-test-token-of-32-characters-00',
      };
      for (const variable of container.env as { name: string; value?: string }[])
        if (variable.value !== undefined) env[variable.name] = variable.value;
      expect(Object.keys(env).sort()).toEqual(['PATH', 'POD_IP', 'POD_NAME', 'SYSTEMGE_MESH_TOKEN', 'SYSTEMGE_SERVICE']);
      const result = spawnSync(process.execPath, [systemge, 'validate', file], { env, encoding: 'utf8' });
      expect(result.status, `${deployment.metadata.name}: ${result.stdout}${result.stderr}`).toBe(0);
    }
  });

  it('`systemge validate` would catch a broken discovery entry in them (the check above can fail)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'systemge-mesh-k8s-bad-'));
    const file = join(dir, 'orders.yaml');
    writeFileSync(file, configFile('orders.yaml').replace('type: SRV', 'type: A'));
    const env = {
      PATH: process.env.PATH ?? '',
      POD_NAME: 'orders-1',
      POD_IP: '10.1.2.3',
      SYSTEMGE_MESH_TOKEN: 'a-test-token-of-32-characters-00',
    };
    const result = spawnSync(process.execPath, [systemge, 'validate', file], { env, encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/nodes\[0\]\.discovery\.port: A records carry no port/);
  });
});
