import { readFileSync } from 'node:fs';

const page = readFileSync(new URL('./public/index.html', import.meta.url), 'utf8');
const icon = readFileSync(new URL('./public/favicon.svg', import.meta.url), 'utf8');
const MAX_TEXT = 500;

/**
 * One chat node: serves the page, takes messages from its WebSocket clients, shows them to its
 * own clients and relays them to the other chat nodes, which show them to theirs.
 */
export default function chatApplication({ name, websocket }) {
  if (websocket === undefined) throw new Error(`node ${name} needs a "websocket" section`);
  const show = (entry) => websocket.broadcast('chat.message', entry);

  return {
    getHttpMessageHandlers: () => ({
      'GET /': (_request, reply) => reply.type('text/html; charset=utf-8').send(page),
      'GET /favicon.svg': (_request, reply) => reply.type('image/svg+xml').header('cache-control', 'public, max-age=86400').send(icon),
    }),

    getWebsocketMessageHandlers: () => ({
      'chat.send': (client, message, node) => {
        const { user, text } = message.payload ?? {};
        if (typeof text !== 'string' || text.trim() === '') throw new Error('a message needs text');
        const entry = {
          user: typeof user === 'string' && user.trim() !== '' ? user.trim().slice(0, 40) : `guest-${client.id.slice(0, 4)}`,
          text: text.slice(0, MAX_TEXT),
          node: name,
          at: Date.now(),
        };
        // The other chat nodes connected now; with none, the message cannot leave this node.
        const relays = node.peers().filter((peer) => peer.asyncTopics.includes('chat.relay'));
        show({ ...entry, relayed: relays.length > 0 });
        if (relays.length > 0) node.asyncMessage('chat.relay', JSON.stringify(entry));
        else websocket.send(client.id, 'chat.unreachable', { node: name });
      },
    }),

    getAsyncMessageHandlers: () => ({
      'chat.relay': (message) => show(JSON.parse(String(message.payload))),
    }),

    onConnect: (client) => {
      websocket.send(client.id, 'chat.welcome', { node: name });
    },

    getCommandHandlers: () => ({
      'chat-clients': () => String(websocket.clients().length),
      'chat-announce': (args) => {
        const text = args.join(' ');
        if (text === '') throw new Error('usage: chat-announce <text>');
        const entry = { user: 'operator', text, node: name, at: Date.now() };
        show(entry);
        return `announced to ${websocket.clients().length} local clients`;
      },
    }),
  };
}
