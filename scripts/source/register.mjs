// Runs the workspace packages from their TypeScript sources, no build needed:
//
//   node --import ./scripts/source/register.mjs app.js
//
// `@systemge/*` imports resolve through the `@systemge/source` export condition to `src/index.ts`,
// and `.ts` files are transpiled on load (types removed, nothing checked: `pnpm typecheck` does that).
// Published packages have no such condition and run their compiled `dist/`.
import { register } from 'node:module';

register('./hooks.mjs', import.meta.url);
