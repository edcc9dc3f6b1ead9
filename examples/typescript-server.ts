import { WebSocketServer } from 'socketeer';

/** What clients send, and what the server answers: typed once, checked at the edge. */
type ClientMessage = { type: 'say'; text: string };
type ServerMessage = { type: 'said'; from: string; text: string } | { type: 'error'; message: string };

function parseClientMessage(data: string | Buffer): ClientMessage | undefined {
  try {
    const value: unknown = JSON.parse(String(data));
    if (typeof value !== 'object' || value === null) return undefined;
    const { type, text } = value as Record<string, unknown>;
    return type === 'say' && typeof text === 'string' ? { type, text } : undefined;
  } catch {
    return undefined;
  }
}

const server = new WebSocketServer({
  port: Number(process.env.PORT ?? 8080),
  // The user type is inferred from what authenticate returns: ws.user is { name: string }.
  authenticate: (request) => {
    const name = new URL(request.url ?? '/', 'ws://localhost').searchParams.get('name');
    return name ? { user: { name } } : { reject: 401, body: 'connect with ?name=...' };
  },
});

server.on('listening', () => {
  const address = server.address();
  console.log(`listening on ws://localhost:${typeof address === 'object' && address ? address.port : '?'}`);
});
server.on('connection', (ws) => {
  ws.on('message', (data) => {
    const message = parseClientMessage(data);
    const reply: ServerMessage = message
      ? { type: 'said', from: ws.user.name, text: message.text }
      : { type: 'error', message: 'send {"type":"say","text":"..."}' };
    if (reply.type === 'error') ws.send(JSON.stringify(reply));
    else server.broadcast(JSON.stringify(reply));
  });
});
process.on('SIGINT', () => server.close().then(() => process.exit(0)));
