// Writes the published JSON Schema of a configuration file from the built schema (run by `build`).
import { writeFileSync } from 'node:fs';
import { jsonSchemaDocument } from '@systemge/node';
import { SystemgeFileSchema } from '../dist/index.js';

writeFileSync(
  new URL('../schema/systemge.schema.json', import.meta.url),
  `${JSON.stringify(jsonSchemaDocument(SystemgeFileSchema), null, 2)}\n`,
);
