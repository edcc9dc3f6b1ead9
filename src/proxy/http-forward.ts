import * as http from 'node:http';
import * as https from 'node:https';
import type { Backend } from './backend.js';
import { FORWARDING_HEADERS } from './forwarded.js';
import type { ProxyLogEvent } from './log.js';

/**
 * Plain HTTP requests through the proxy (so an app and its WebSocket endpoints
 * share a port). The request body streams to the backend and the answer back;
 * when either side goes away the other is cut at once (an aborted upload is
 * aborted upstream, a client that leaves mid-download stops the backend's
 * answer). Waiting is timed by whose move it is: the backend must connect, read
 * the body and start answering within a deadline (504) that runs only while it
 * has the move, so a long upload that keeps moving is the client's time, not
 * the backend's; a body that stops moving while the backend is ready for more,
 * or after the backend answered, gets 408 or is cut (a dripping upload must not
 * hold a backend connection, and Node's 300 s request limit is off).
 */

export interface HttpForwardContext {
  backendTimeout: number;
  /** How long a request body may stall (no bytes while the backend is ready for more): then 408. */
  requestBodyTimeout: number;
  /** Our X-Forwarded-* and Forwarded headers for this request. */
  forwardingHeaders(req: http.IncomingMessage): Record<string, string>;
  report(event: ProxyLogEvent): void;
  /** Count a request we ended ourselves (the proxy's stats().refused). */
  countRefused(reason: string): void;
  /** Count a client that left before the backend answered (the proxy's stats().abandoned). */
  countAbandoned(): void;
  /**
   * The backend refused the connection before anything was sent to it: hand the
   * request to another backend. False when there is none left to try.
   */
  retryElsewhere(): boolean;
}

/**
 * A request without a body: nothing of it is lost when its backend could not be
 * reached, so it can be sent to another one (RFC 9112 section 6.3: no
 * Transfer-Encoding and no, or a zero, Content-Length).
 */
function bodyless(req: http.IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] === undefined && (length === undefined || Number(length) === 0);
}

/** RFC 9110 section 7.6.1: connection-specific fields are not forwarded. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
]);

/** Headers to pass on: without hop-by-hop ones, including those the Connection header names. */
function endToEnd(
  headers: http.IncomingHttpHeaders,
  drop: Set<string> = new Set(),
): http.OutgoingHttpHeaders {
  const named = new Set(
    String(headers.connection ?? '')
      .split(',')
      .map((name) => name.trim().toLowerCase()),
  );
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!HOP_BY_HOP.has(name) && !named.has(name) && !drop.has(name)) out[name] = value;
  }
  return out;
}

export function forwardHttp(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  backend: Backend,
  context: HttpForwardContext,
): void {
  const headers = endToEnd(req.headers, FORWARDING_HEADERS);
  Object.assign(headers, context.forwardingHeaders(req));
  const upstream = (backend.secure ? https : http).request({
    host: backend.host,
    port: backend.port,
    method: req.method,
    path: req.url,
    headers,
    ...(backend.secure
      ? { ca: backend.tlsOptions.ca, rejectUnauthorized: backend.tlsOptions.rejectUnauthorized ?? true }
      : {}),
  });
  let clientGone = false;
  /** The backend refused the connection and the request went to another one (retryElsewhere). */
  let handedOver = false;
  let timedOut = false;
  let answered = false;
  // The backend's deadline for its answer head runs while the backend has the next move:
  // connecting, once the whole request is passed on, and while it does not read the body
  // (the pipe waits for 'drain'). Each drain is progress and ends that wait; dripping
  // answer bytes do not extend it. The client's move is the body's idle limit below.
  let deadline: NodeJS.Timeout | undefined;
  const backendsMove = () => {
    if (answered || handedOver) return;
    deadline ??= setTimeout(() => {
      timedOut = true;
      upstream.destroy(new Error(`no answer within ${context.backendTimeout} ms`));
    }, context.backendTimeout);
  };
  const clientsMove = () => {
    if (upstream.writableFinished || upstream.writableNeedDrain) return;
    clearTimeout(deadline);
    deadline = undefined;
  };
  backendsMove();
  upstream.on('socket', (socket) => {
    if (socket.connecting) socket.once('connect', clientsMove);
    else clientsMove();
  });
  upstream.on('finish', backendsMove);
  req.on('pause', backendsMove);
  upstream.on('drain', clientsMove);
  // The client's body is timed on its socket's bytes: after an early answer Node discards
  // the rest of the body without 'data' events, and that discarding must end too.
  const clientSocket = req.socket;
  const bodyMoved = () => bodyIdle.refresh();
  const stopBodyIdle = () => {
    clearTimeout(bodyIdle);
    clientSocket.off('data', bodyMoved);
    clientSocket.off('close', stopBodyIdle); // keep-alive sockets carry many requests
  };
  const bodyIdle = setTimeout(function bodyStalled() {
    // The backend not reading is its own deadline's business, not the client's stall,
    // until it has answered: then the rest of the body is the client's alone.
    if (!answered && upstream.writableNeedDrain) return void bodyIdle.refresh();
    stopBodyIdle();
    clientGone = true;
    upstream.destroy();
    context.countRefused('request-body-timeout');
    // Answered already: the idle limit was the lingering time for the unread body.
    if (res.headersSent) return void clientSocket.destroy();
    res.writeHead(408, { 'content-type': 'text/plain', connection: 'close' });
    res.end('request body timed out\n');
    clientSocket.destroySoon();
  }, context.requestBodyTimeout);
  clientSocket.on('data', bodyMoved);
  req.on('end', stopBodyIdle);
  clientSocket.on('close', stopBodyIdle);
  // A request handed over from a backend that refused has no body left to time
  // (its 'end' came already): an idle timer here would later cut the keep-alive socket.
  if (req.readableEnded) stopBodyIdle();
  upstream.on('response', (answer) => {
    answered = true;
    clearTimeout(deadline);
    answer.on('error', () => res.destroy());
    try {
      res.writeHead(answer.statusCode ?? 502, endToEnd(answer.headers));
    } catch (error) {
      // A status or header Node will not send on: the backend's fault, not the client's.
      answer.destroy();
      backendFailed(502, `invalid answer: ${(error as Error).message}`);
      return;
    }
    answer.pipe(res);
  });
  const backendFailed = (status: number, why: string) => {
    context.report({ type: 'backend-failure', backend: backend.id, status, reason: why });
    backend.recordFailure(why);
    if (!res.headersSent) {
      res.writeHead(status, { 'content-type': 'text/plain' }).end(`bad gateway: ${why}\n`);
    } else {
      res.destroy();
    }
  };
  upstream.on('error', (error) => {
    clearTimeout(deadline);
    if (clientGone) return; // we cut it because the client left: not the backend's fault
    const refused = (error as NodeJS.ErrnoException).code === 'ECONNREFUSED';
    if (refused && !timedOut && bodyless(req)) {
      // The backend is down (a node restarting): like a WebSocket handshake, the
      // request goes to the next backend instead of answering 502.
      context.report({ type: 'backend-failure', backend: backend.id, status: 502, reason: error.message });
      backend.recordFailure(error.message);
      handedOver = true;
      req.unpipe(upstream);
      stopBodyIdle();
      if (context.retryElsewhere()) return;
      handedOver = false;
    }
    backendFailed(timedOut ? 504 : 502, error.message);
  });
  // The client left before its request was complete (an aborted upload), or
  // before the answer was complete: the backend must not wait for either.
  const clientLeft = () => {
    if (clientGone || handedOver) return; // after a hand-over the next attempt watches the client
    clientGone = true;
    upstream.destroy();
    if (!answered) context.countAbandoned();
  };
  req.on('close', () => {
    if (!req.complete) clientLeft();
  });
  // Also the client leaving after its request was complete: Node's server reads the
  // socket on, notices the FIN or reset and closes the response.
  res.on('close', () => {
    if (!res.writableFinished) clientLeft();
  });
  req.on('error', () => {});
  req.pipe(upstream);
}
