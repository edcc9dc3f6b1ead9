import { WebSocketServer } from 'socketeer';

// Stands in for your session store (a database, Redis, ...): session id -> user.
const sessions = new Map([['7f3a9c', { name: 'ada' }]]);
async function lookupSession(cookieHeader = '') {
  const sid = /(?:^|;\s*)sid=([^;]*)/.exec(cookieHeader)?.[1];
  return sid === undefined ? undefined : sessions.get(decodeURIComponent(sid));
}

const server = new WebSocketServer({
  port: Number(process.env.PORT ?? 8080),
  origins: ['https://app.example.com'],
  authenticate: async (req) => {
    const user = await lookupSession(req.headers.cookie);
    return user ? { user } : { reject: 401, body: 'log in first' };
  },
});
server.on('listening', () => console.log(`listening on ws://localhost:${server.address().port}`));
server.on('connection', (ws) => ws.send(`hello ${ws.user.name}`));
process.on('SIGINT', () => server.close().then(() => process.exit(0)));
