// A node with a WebSocket face, shown on a dashboard; fetches the page and the node list over HTTP.
import { createDashboard } from '@systemge/dashboard';
import { createNode } from '@systemge/node';
import { websocketComponent } from '@systemge/websocket';

const node = createNode(
  { name: 'chat', listen: false },
  { getCommandHandlers: () => ({ hello: () => 'hi' }) },
  { plugins: [websocketComponent({ host: '127.0.0.1', port: 0 })] },
);
await node.start();

const dashboard = createDashboard({ host: '127.0.0.1', port: 0 });
dashboard.addNode(node);
await dashboard.start();

try {
  const base = dashboard.url;
  if (base === undefined) throw new Error('dashboard has no url after start()');

  const page = await fetch(`${base}/`);
  const html = await page.text();
  if (page.status !== 200 || !/text\/html/.test(page.headers.get('content-type') ?? '') || !/<html/i.test(html)) {
    throw new Error(`GET / answered ${page.status} ${page.headers.get('content-type')}: ${html.slice(0, 200)}`);
  }

  const list = await fetch(`${base}/api/nodes`);
  const body = (await list.json()) as { nodes?: { name: string; status: string }[] };
  const chat = body.nodes?.find((entry) => entry.name === 'chat');
  if (list.status !== 200 || chat === undefined) {
    throw new Error(`GET /api/nodes answered ${list.status}: ${JSON.stringify(body)}`);
  }
  console.log(`ok: dashboard at ${base} serves its page and lists node "chat" (${chat.status})`);
} finally {
  await dashboard.stop();
  await node.stop();
}
