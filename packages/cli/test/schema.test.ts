import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { type NodeConfig, resolveNodeConfig } from '@systemge/node';
import { describe, expect, it } from 'vitest';

const schema = JSON.parse(readFileSync(new URL('../schema/systemge.schema.json', import.meta.url), 'utf8')) as object;
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);

const examples = ['../../../examples/chat/systemge.config.json'];

describe('the published JSON Schema', () => {
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

  it('rejects what the loader rejects: unknown fields, wrong types, missing names', () => {
    expect(validate({ nodes: [{ name: 'a', colour: 'blue' }] })).toBe(false);
    expect(validate({ nodes: [{ name: 'a', listen: { port: 70000 } }] })).toBe(false);
    expect(validate({ nodes: [{ listen: { port: 1 } }] })).toBe(false);
    expect(validate({ nodes: [{ name: 'a', handling: { mode: 'parallel' } }] })).toBe(false);
  });

  it('lists every node option the node package validates', () => {
    const nodeProps = Object.keys(
      (schema as { properties: { nodes: { items: { properties: object } } } }).properties.nodes.items.properties,
    );
    // The node validator names its known fields when it meets an unknown one.
    let known: string[] = [];
    try {
      resolveNodeConfig({ name: 'a', listen: false, unknownField: 1 } as unknown as NodeConfig);
    } catch (error) {
      known = (/known fields: (.*)$/.exec((error as Error).message)?.[1] ?? '').split(', ');
    }
    expect(known.length).toBeGreaterThan(10);
    for (const field of known.filter((f) => f !== 'transport')) expect(nodeProps).toContain(field);
  });
});
