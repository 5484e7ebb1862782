import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { jsonSchemaDocument, NodeConfigSchema } from '../src/index.js';

describe('@systemge/node/schema.json', () => {
  it('is the JSON Schema generated from NodeConfigSchema (rebuild the package when this fails)', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      exports: Record<string, string>;
      files: string[];
    };
    expect(pkg.exports['./schema.json']).toBe('./schema/node-config.schema.json');
    expect(pkg.files).toContain('schema');
    const shipped = JSON.parse(readFileSync(new URL('../schema/node-config.schema.json', import.meta.url), 'utf8')) as unknown;
    expect(shipped).toEqual(jsonSchemaDocument(NodeConfigSchema));
    expect(shipped).toMatchObject({ $schema: 'http://json-schema.org/draft-07/schema#', required: ['name'], additionalProperties: false });
    expect(JSON.stringify(shipped)).not.toContain('x-systemge-');
  });
});

describe('the option types', () => {
  it('carry each option description as JSDoc, so editors show the unit and default on hover', () => {
    const source = readFileSync(new URL('../src/config-schema.ts', import.meta.url), 'utf8');
    const docs = new Set(
      [...source.matchAll(/\/\*\*([\s\S]*?)\*\//g)].map((m) =>
        (m[1] as string)
          .replace(/\n\s*\* ?/g, ' ')
          .replace(/\s+/g, ' ')
          .trim(),
      ),
    );
    const missing: string[] = [];
    const walk = (schema: { properties?: Record<string, { description?: string; properties?: object }> }, path: string): void => {
      for (const [key, sub] of Object.entries(schema.properties ?? {})) {
        if (sub.description !== undefined && !docs.has(sub.description)) missing.push(`${path}${key}`);
        walk(sub as never, `${path}${key}.`);
      }
    };
    walk(NodeConfigSchema as never, '');
    expect(missing).toEqual([]);
  });
});
