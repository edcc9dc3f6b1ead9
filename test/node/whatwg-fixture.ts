import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from '../../src/index.js';
import { kCloseWithoutStatus, kWriteFrame } from '../../src/node/internal.js';
import type { WebSocket } from '../../src/node/websocket.js';

/**
 * The server both runs of whatwg-cases.ts talk to: socketeer WebSocket servers
 * on /echo, /protocols, /deflate and /reject, plus (for the browser) a page at /
 * that loads the cases module from /whatwg-cases.js.
 */

const CASES_FILE = fileURLToPath(new URL('./whatwg-cases.js', import.meta.url));

const PAGE = `<!doctype html><meta charset="utf-8"><title>whatwg cases</title>
<script type="module">
import { cases } from '/whatwg-cases.js';
window.runCase = async (name, base) => {
  const found = cases.find((c) => c.name === name);
  if (!found) return 'no such case: ' + name;
  try {
    await found.run({ WebSocket, CloseEvent, base });
    return null;
  } catch (error) {
    return String(error && error.stack || error);
  }
};
window.caseNames = cases.map((c) => c.name);
</script>`;

function obey(ws: WebSocket, data: string | Buffer, isBinary: boolean): void {
  if (ws.readyState !== ws.OPEN) return;
  const command = isBinary ? '' : String(data);
  if (command.startsWith('cmd:close:')) {
    const [, , code, ...reason] = command.split(':');
    ws.close(Number(code), reason.join(':'));
  } else if (command === 'cmd:close-empty') {
    ws[kCloseWithoutStatus](); // a Close frame without a body: the client sees 1005
  } else if (command === 'cmd:drop') {
    ws.terminate();
  } else if (command.startsWith('cmd:raw:')) {
    ws[kWriteFrame]([Buffer.from(command.slice('cmd:raw:'.length), 'hex')]);
  } else {
    ws.send(data, { binary: isBinary });
  }
}

export async function startWhatwgFixture() {
  const httpServer = http.createServer((request, response) => {
    if (request.url === '/whatwg-cases.js') {
      response.writeHead(200, { 'content-type': 'text/javascript' });
      response.end(readFileSync(CASES_FILE));
    } else if (request.url === '/') {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end(PAGE);
    } else {
      response.writeHead(404).end();
    }
  });
  const servers = [
    new WebSocketServer({ server: httpServer, path: '/echo' }),
    new WebSocketServer({ server: httpServer, path: '/protocols', protocols: ['chat.v2'] }),
    new WebSocketServer({ server: httpServer, path: '/deflate', perMessageDeflate: { threshold: 0 } }),
    new WebSocketServer({ server: httpServer, path: '/reject', authenticate: () => ({ reject: 403 }) }),
  ];
  // /basic-auth: like web-platform-tests' websockets/handlers/basic_auth_wsh.py, a
  // handshake without Authorization gets 401 with a Basic challenge (a browser may
  // wait for it before sending the URL's credentials); the header it got is sent back.
  const basicAuth = new WebSocketServer({
    server: httpServer,
    path: '/basic-auth',
    authenticate: (request) =>
      request.headers.authorization
        ? undefined
        : { reject: 401, headers: { 'WWW-Authenticate': 'Basic realm="fixture"' } },
  });
  basicAuth.on('connection', (ws, request) => ws.send(request.headers.authorization ?? ''));
  servers.push(basicAuth);
  for (const server of servers) {
    server.on('connection', (ws) => ws.on('message', (data, isBinary) => obey(ws, data, isBinary)));
  }
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const { port } = httpServer.address() as AddressInfo;
  return {
    port,
    base: `ws://127.0.0.1:${port}`,
    page: `http://127.0.0.1:${port}/`,
    async close() {
      await Promise.all(servers.map((s) => s.close()));
      await new Promise((resolve) => httpServer.close(resolve));
    },
  };
}
