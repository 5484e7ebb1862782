// Writes the published JSON Schema of a node configuration from the built schema (run by `build`).
import { mkdirSync, writeFileSync } from 'node:fs';
import { jsonSchemaDocument, NodeConfigSchema } from '../dist/index.js';

const out = new URL('../schema/node-config.schema.json', import.meta.url);
mkdirSync(new URL('.', out), { recursive: true });
writeFileSync(out, `${JSON.stringify(jsonSchemaDocument(NodeConfigSchema), null, 2)}\n`);
