import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { jsonSchemaDocument, NodeConfigSchema } from '@systemge/node';
import { describe, expect, it } from 'vitest';
import { SystemgeFileSchema } from '../src/index.js';

const shipped = JSON.parse(readFileSync(new URL('../schema/systemge.schema.json', import.meta.url), 'utf8')) as {
  properties: { nodes: { items: { properties: Record<string, unknown> } } };
};
const validate = new Ajv({ allErrors: true, strict: false }).compile(shipped);

const examples = ['../../../examples/chat/systemge.config.json'];

describe('the published JSON Schema', () => {
  it('is the one generated from the file schema, which is built on the node schema (rebuild when this fails)', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      exports: Record<string, string>;
      files: string[];
    };
    expect(pkg.exports['./schema.json']).toBe('./schema/systemge.schema.json');
    expect(pkg.files).toContain('schema');
    expect(shipped).toEqual(jsonSchemaDocument(SystemgeFileSchema));
    // Every node option, with its default and description, exactly as @systemge/node defines it;
    // `discovery` adds the source (`kind`, …) to the node's policy fields, which stay as they are.
    const node = jsonSchemaDocument(NodeConfigSchema) as {
      properties: Record<string, unknown> & { discovery: { properties: Record<string, unknown> } };
    };
    for (const [name, schema] of Object.entries(node.properties))
      if (name !== 'discovery') expect(shipped.properties.nodes.items.properties[name], name).toEqual(schema);
    const discovery = shipped.properties.nodes.items.properties.discovery as { anyOf: { properties: Record<string, unknown> }[] };
    expect(discovery.anyOf.map((v) => v.properties.kind)).toMatchObject([{ const: 'etcd' }, { const: 'dns' }, { const: 'static' }]);
    for (const variant of discovery.anyOf) expect(variant.properties).toMatchObject(node.properties.discovery.properties);
    expect(shipped.properties.nodes.items.properties.sync).toMatchObject({
      properties: { timeoutMs: { default: 5000, maximum: 2147483647 } },
    });
  });

  it('accepts the example configuration files', () => {
    for (const path of examples) {
      let content: unknown;
      try {
        content = JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8'));
      } catch {
        continue;
      }
      expect(validate(content), JSON.stringify(validate.errors)).toBe(true);
    }
  });

  it('rejects what the loader rejects: unknown fields, wrong types, missing names, tls fields on tcp, timers over the maximum', () => {
    expect(validate({ nodes: [{ name: 'a', colour: 'blue' }] })).toBe(false);
    expect(validate({ nodes: [{ name: 'a', listen: { port: 70000 } }] })).toBe(false);
    expect(validate({ nodes: [{ listen: { port: 1 } }] })).toBe(false);
    expect(validate({ nodes: [{ name: 'a', handling: { mode: 'parallel' } }] })).toBe(false);
    expect(validate({ nodes: [{ name: 'a', transport: { kind: 'tcp', certFile: 'x' } }] })).toBe(false);
    expect(validate({ nodes: [{ name: 'a', sync: { timeoutMs: 2 ** 31 } }] })).toBe(false);
    expect(validate({ nodes: [{ name: 'a', http: { requestTimeoutMs: 2 ** 31 } }] })).toBe(false);
    expect(validate({ nodes: [] })).toBe(false);
    expect(validate({ nodes: [{ name: 'a', discovery: { kind: 'consul' } }] })).toBe(false);
    expect(validate({ nodes: [{ name: 'a', discovery: { kind: 'etcd', endpoints: [] } }] })).toBe(false);
    expect(validate({ nodes: [{ name: 'a', discovery: { kind: 'etcd', endpoints: ['http://e:2379'], leaseTtlSeconds: 1 } }] })).toBe(false);
    expect(validate({ nodes: [{ name: 'a', discovery: { kind: 'dns', name: 'mesh', port: 4000, connectTo: { uses: ['x'] } } }] })).toBe(
      true,
    );
    expect(
      validate({ $schema: './schema.json', nodes: [{ name: 'a', transport: { kind: 'tls', caFile: 'ca.pem' }, listen: false }] }),
    ).toBe(true);
  });
});
