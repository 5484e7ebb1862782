import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { jsonSchemaDocument, NodeConfigSchema } from '../src/index.js';

describe('@systemge/node/schema.json', () => {
  it('is the JSON Schema generated from NodeConfigSchema (rebuild the package when this fails)', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { exports: Record<string, string>; files: string[] };
    expect(pkg.exports['./schema.json']).toBe('./schema/node-config.schema.json');
    expect(pkg.files).toContain('schema');
    const shipped = JSON.parse(readFileSync(new URL('../schema/node-config.schema.json', import.meta.url), 'utf8')) as unknown;
    expect(shipped).toEqual(jsonSchemaDocument(NodeConfigSchema));
    expect(shipped).toMatchObject({ $schema: 'http://json-schema.org/draft-07/schema#', required: ['name'], additionalProperties: false });
    expect(JSON.stringify(shipped)).not.toContain('x-systemge-');
  });
});
