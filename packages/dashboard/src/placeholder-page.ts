/** The page served at `/` until the browser UI is served there. It loads nothing and runs no script. */
export const PLACEHOLDER_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Systemge dashboard</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#222}code{background:#f3f3f3;padding:0 .25rem}</style>
</head>
<body>
<h1>Systemge dashboard</h1>
<p>This server speaks JSON and WebSocket:</p>
<ul>
<li><code>GET /api/nodes</code> — nodes with status and metrics</li>
<li><code>GET /api/nodes/:name</code> — one node in full</li>
<li><code>POST /api/nodes/:name/command</code> — run a command</li>
<li><code>GET /metrics</code> — Prometheus text exposition</li>
<li><code>/ws</code> — live feed of statuses, metrics and topology</li>
</ul>
<p>When the dashboard has a token, send it as <code>Authorization: Bearer &lt;token&gt;</code>.</p>
</body>
</html>
`;
