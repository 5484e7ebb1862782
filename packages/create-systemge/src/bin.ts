#!/usr/bin/env node
import { processIO } from '@systemge/cli';
import { createSystemge } from './index.js';

process.exitCode = await createSystemge(process.argv.slice(2), processIO());
