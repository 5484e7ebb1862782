// Layering rules, checked by `pnpm lint:deps` (part of `pnpm lint`).
// Cruises packages/*/src and test, examples and bench. Workspace packages resolve through
// their exports map to dist/, so the packages are built first.

// A module specifier or resolved path that points at one of our packages other than by its
// name: `@systemge/x/...` subpaths that the exports map does not offer stay unresolved.
const OUR_PACKAGES = '(^|/)packages/|^@systemge/|/node_modules/@systemge/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'protocol-imports-nothing-ours',
      comment: '@systemge/protocol is the base layer: it imports no other package of this repo.',
      severity: 'error',
      from: { path: '^packages/protocol/src/' },
      to: { path: OUR_PACKAGES, pathNot: '^packages/protocol/' },
    },
    {
      name: 'access-imports-only-protocol',
      comment:
        '@systemge/access (address lists, token buckets, token checks) sits beside the protocol: of ours it may import @systemge/protocol only.',
      severity: 'error',
      from: { path: '^packages/access/src/' },
      to: { path: OUR_PACKAGES, pathNot: '^packages/(access|protocol)/|(^|/)@systemge/protocol(/|$)' },
    },
    {
      name: 'dashboard-link-imports-node-protocol-access',
      comment:
        '@systemge/dashboard-link is the dashboard contract on the node side: of ours it imports @systemge/node, @systemge/protocol and @systemge/access only.',
      severity: 'error',
      from: { path: '^packages/dashboard-link/src/' },
      to: {
        path: OUR_PACKAGES,
        pathNot: '^packages/(dashboard-link|node|protocol|access)/|(^|/)@systemge/(node|protocol|access)(/|$)',
      },
    },
    {
      name: 'node-imports-no-transport-or-face',
      comment:
        '@systemge/node knows transports and faces only through interfaces: it imports no transport package, ' +
        'no HTTP/WebSocket/dashboard/dashboard-link/metrics package, no Fastify, no ws and no node:tls.',
      severity: 'error',
      from: { path: '^packages/node/src/' },
      to: {
        path: [
          '(^|/)packages/(transport-[^/]+|http|websocket|dashboard|dashboard-link|metrics|cli)/',
          '(^|/)@systemge/(transport-[^/]+|http|websocket|dashboard|dashboard-link|metrics|cli)(/|$)',
          '(^|/)(fastify|find-my-way|ws|@fastify/[^/]+|@types/ws)(/|$)',
          '^(node:)?tls$',
        ],
      },
    },
    {
      name: 'discovery-imports-node-and-protocol-only',
      comment:
        'Discovery packages are backends of the Discovery interface: of ours they import only @systemge/node and ' +
        '@systemge/protocol, never a transport, a face or each other.',
      severity: 'error',
      from: { path: '^packages/discovery-[^/]+/src/' },
      to: {
        path: OUR_PACKAGES,
        pathNot: ['^packages/(node|protocol)/', '(^|/)@systemge/(node|protocol)(/|$)', '^packages/discovery-[^/]+/src/'],
      },
    },
    {
      name: 'no-relative-import-across-packages',
      comment: 'Another package is imported by its name (`@systemge/x`), never by a relative path into its folder.',
      severity: 'error',
      from: { path: '^packages/([^/]+)/' },
      to: { path: '^packages/', pathNot: '^packages/$1/', dependencyTypes: ['local'] },
    },
    {
      name: 'examples-and-bench-import-packages-by-name',
      comment: 'Examples and benchmarks use the packages as users do: by name, never by a path into packages/.',
      severity: 'error',
      from: { path: '^(examples|bench)/' },
      to: { path: '^packages/', dependencyTypes: ['local'] },
    },
    {
      name: 'no-package-internals',
      comment: "Only a package's exports map entries may be imported (`@systemge/x`), never its src/, test/ or dist/ files.",
      severity: 'error',
      from: { path: '^(packages/[^/]+|examples/[^/]+|bench)/' },
      to: {
        path: '(^|/)packages/[^/]+/(src|test)/|(^|/)@systemge/[^/]+/(src|test|dist)/',
        pathNot: '^$1/',
      },
    },
    {
      name: 'test-kits-stay-out-of-package-sources',
      comment:
        "A package's test kit (`@systemge/discovery-etcd/testing`, `@systemge/transport-compliance/pki`…: src/testing.ts, src/pki.ts) " +
        'is a subpath of its own that tests import: no other package source imports it, so no main entry loads it.',
      severity: 'error',
      from: { path: '^packages/[^/]+/src/', pathNot: '^packages/[^/]+/src/(testing|pki)\\.ts$' },
      to: {
        path: [
          '(^|/)packages/[^/]+/src/testing\\.ts$',
          '(^|/)packages/transport-compliance/src/pki\\.ts$',
          '(^|/)(packages|node_modules/@systemge)/[^/]+/dist/testing\\.(d\\.ts|js)$',
          '(^|/)(packages|node_modules/@systemge)/transport-compliance/dist/pki\\.(d\\.ts|js)$',
        ],
      },
    },
    {
      name: 'no-unresolvable-systemge-import',
      comment:
        'An `@systemge/...` import that does not resolve names a path the exports map does not offer ' +
        '(or the package is not built: run `pnpm build`).',
      severity: 'error',
      from: {},
      to: { path: '^@systemge/', couldNotResolve: true },
    },
    {
      name: 'no-cycles-in-package-src',
      comment:
        "A package's own src/ modules form no import cycle at run time. Type-only imports are erased by the compiler, so a cycle that goes through one is a cycle of declarations, not of modules.",
      severity: 'error',
      from: { path: '^packages/[^/]+/src/' },
      to: {
        circular: true,
        dependencyTypesNot: ['type-only'],
        viaOnly: { path: '^packages/[^/]+/src/', dependencyTypesNot: ['type-only'] },
      },
    },
  ],
  options: {
    doNotFollow: { path: ['node_modules', '(^|/)dist/'] },
    exclude: { path: ['^bench/results/', '^scripts/consumers/'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.base.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'types', 'default', 'node'],
      extensions: ['.ts', '.js', '.mjs', '.d.ts'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
