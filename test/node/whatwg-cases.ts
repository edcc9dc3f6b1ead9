/**
 * The WHATWG WebSocket API, as assertions a browser passes. This file runs twice:
 * in Node against socketeer's `WebSocket` (whatwg.test.ts), and in a real Chromium
 * page against the browser's own (interop/whatwg-chromium.test.ts). It therefore
 * imports nothing and uses only what both environments have.
 *
 * The fixture server (whatwg-fixture.ts) echoes on /echo and obeys commands sent
 * as text: "cmd:close:<code>:<reason>", "cmd:drop", "cmd:raw:<hex bytes>".
 */

export interface CaseEnv {
  WebSocket: typeof globalThis.WebSocket;
  CloseEvent: new (type: string, init?: object) => Event;
  /** ws://host:port of the fixture server, no trailing slash. */
  base: string;
}

export interface Case {
  name: string;
  run(env: CaseEnv): Promise<void>;
}

type Socket = InstanceType<typeof globalThis.WebSocket>;
/** CloseEvent's fields (Node's type library has no CloseEvent). */
interface CloseLike extends Event {
  code: number;
  reason: string;
  wasClean: boolean;
}

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

function same(actual: unknown, expected: unknown, what: string): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

function throwsDom(name: string, fn: () => unknown, what: string): void {
  try {
    fn();
  } catch (error) {
    check(error instanceof DOMException, `${what}: threw ${String(error)}, not a DOMException`);
    same(error.name, name, `${what}: DOMException name`);
    return;
  }
  throw new Error(`${what}: did not throw ${name}`);
}

/** The events a socket fires, in order, until its close event. */
function record(ws: Socket) {
  const events: string[] = [];
  const messages: unknown[] = [];
  let wake: (() => void) | undefined;
  let closeEvent: CloseLike | undefined;
  ws.addEventListener('open', () => events.push('open'));
  ws.addEventListener('error', () => events.push('error'));
  ws.addEventListener('message', (e) => {
    events.push('message');
    messages.push((e as MessageEvent).data);
    wake?.();
  });
  const closed = new Promise<CloseLike>((resolve) => {
    ws.addEventListener('close', (e) => {
      events.push('close');
      closeEvent = e as CloseLike;
      resolve(e as CloseLike);
      wake?.();
    });
  });
  return {
    events,
    closed,
    async next(): Promise<unknown> {
      while (messages.length === 0) {
        if (closeEvent) throw new Error(`closed (${closeEvent.code}) while waiting for a message`);
        await new Promise<void>((r) => (wake = r));
      }
      return messages.shift();
    },
  };
}

function opened(ws: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    ws.addEventListener('open', () => resolve(), { once: true });
    ws.addEventListener('close', () => reject(new Error('closed before open')), { once: true });
  });
}

async function bytesOf(data: unknown): Promise<number[]> {
  if (data instanceof Blob) return Array.from(new Uint8Array(await data.arrayBuffer()));
  check(data instanceof ArrayBuffer, `expected an ArrayBuffer, got ${Object.prototype.toString.call(data)}`);
  return Array.from(new Uint8Array(data));
}

const CONSTANTS = { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 };

export const cases: Case[] = [
  {
    name: 'readyState constants on the interface and on instances',
    async run({ WebSocket, base }) {
      const ws = new WebSocket(`${base}/echo`);
      for (const [name, value] of Object.entries(CONSTANTS)) {
        same((WebSocket as unknown as Record<string, number>)[name], value, `WebSocket.${name}`);
        same((ws as unknown as Record<string, number>)[name], value, `ws.${name}`);
        same((WebSocket.prototype as unknown as Record<string, number>)[name], value, `prototype.${name}`);
      }
      const r = record(ws);
      await opened(ws);
      ws.close();
      await r.closed;
    },
  },
  {
    name: 'url is serialized and http: / https: map to ws: / wss:',
    async run({ WebSocket, base }) {
      const host = base.slice('ws://'.length);
      const a = new WebSocket(`http://${host}/echo?x=1`);
      same(a.url, `ws://${host}/echo?x=1`, 'url from http:');
      const b = new WebSocket(`https://${host}`);
      same(b.url, `wss://${host}/`, 'url from https:, with its path');
      b.close();
      const ra = record(a);
      await opened(a);
      a.close();
      await ra.closed;
    },
  },
  {
    name: 'credentials in the URL: Basic authentication, percent-decoded; url keeps them',
    async run({ WebSocket, base }) {
      const host = base.slice('ws://'.length);
      // "foo" and "b@r é" (percent-encoded in the URL): Basic base64("foo:b@r é" as UTF-8).
      const url = `ws://foo:b%40r%20%C3%A9@${host}/basic-auth`;
      const ws = new WebSocket(url);
      same(ws.url, url, 'url');
      const r = record(ws);
      same(await r.next(), 'Basic Zm9vOmJAciDDqQ==', 'the Authorization header the server got');
      ws.close();
      await r.closed;
    },
  },
  {
    name: 'SyntaxError for bad URLs, other schemes and fragments',
    async run({ WebSocket, base }) {
      for (const url of [
        'ws://[::1/',
        'ftp://127.0.0.1/',
        'javascript:alert(1)',
        `${base}/echo#frag`,
        `${base}/#`,
      ]) {
        throwsDom('SyntaxError', () => new WebSocket(url), `new WebSocket(${JSON.stringify(url)})`);
      }
    },
  },
  {
    name: 'SyntaxError for duplicate or malformed subprotocols',
    async run({ WebSocket, base }) {
      for (const protocols of [['chat', 'chat'], ['a b'], [''], ['a,b'], ['é'], 'x y']) {
        throwsDom(
          'SyntaxError',
          () => new WebSocket(`${base}/echo`, protocols),
          `protocols ${JSON.stringify(protocols)}`,
        );
      }
    },
  },
  {
    name: 'subprotocol: a single string or a list; protocol is the server choice',
    async run({ WebSocket, base }) {
      const one = new WebSocket(`${base}/protocols`, 'chat.v2');
      const two = new WebSocket(`${base}/protocols`, ['chat.v1', 'chat.v2']);
      same([one.protocol, two.protocol], ['', ''], 'protocol before open');
      const r1 = record(one);
      const r2 = record(two);
      await Promise.all([opened(one), opened(two)]);
      same([one.protocol, two.protocol], ['chat.v2', 'chat.v2'], 'protocol after open');
      one.close();
      two.close();
      await Promise.all([r1.closed, r2.closed]);
    },
  },
  {
    name: 'initial state, readyState transitions, close() from the client',
    async run({ WebSocket, base }) {
      const ws = new WebSocket(`${base}/echo`);
      same(
        [ws.readyState, ws.bufferedAmount, ws.protocol, ws.extensions, ws.binaryType],
        [0, 0, '', '', 'blob'],
        'state before open',
      );
      const r = record(ws);
      let stateInOpen = -1;
      ws.onopen = () => {
        stateInOpen = ws.readyState;
      };
      await opened(ws);
      same(stateInOpen, 1, 'readyState in the open handler');
      ws.close(1000, 'done');
      same(ws.readyState, 2, 'readyState right after close()');
      const event = await r.closed;
      same(ws.readyState, 3, 'readyState after the close event');
      same([event.code, event.reason, event.wasClean], [1000, 'done', true], 'close event');
      same(r.events, ['open', 'close'], 'events');
    },
  },
  {
    name: 'send() while CONNECTING throws InvalidStateError',
    async run({ WebSocket, base }) {
      const ws = new WebSocket(`${base}/echo`);
      throwsDom('InvalidStateError', () => ws.send('too early'), 'send while CONNECTING');
      const r = record(ws);
      await opened(ws);
      ws.close();
      await r.closed;
    },
  },
  {
    name: 'text round trip; a lone surrogate is sent as U+FFFD',
    async run({ WebSocket, base }) {
      const ws = new WebSocket(`${base}/echo`);
      const r = record(ws);
      await opened(ws);
      ws.send('héllo ✓ 𝄞');
      same(await r.next(), 'héllo ✓ 𝄞', 'echoed text');
      ws.send('a\uD800b');
      same(await r.next(), 'a\uFFFDb', 'lone surrogate');
      ws.send(42 as unknown as string);
      same(await r.next(), '42', 'non-string, non-binary data is sent as its string');
      ws.close();
      await r.closed;
    },
  },
  {
    name: 'binaryType: blob by default, arraybuffer, unknown values ignored',
    async run({ WebSocket, base }) {
      const ws = new WebSocket(`${base}/echo`);
      const r = record(ws);
      await opened(ws);
      ws.send(new Uint8Array([1, 2, 3]));
      const blob = await r.next();
      check(blob instanceof Blob, 'default binaryType delivers a Blob');
      same(await bytesOf(blob), [1, 2, 3], 'Blob bytes');
      ws.binaryType = 'arraybuffer';
      ws.send(new Uint8Array([4, 5]));
      const buffer = await r.next();
      check(buffer instanceof ArrayBuffer, 'arraybuffer delivers an ArrayBuffer');
      same(await bytesOf(buffer), [4, 5], 'ArrayBuffer bytes');
      ws.binaryType = 'bogus' as never;
      same(ws.binaryType, 'arraybuffer', 'an unknown binaryType is ignored');
      ws.close();
      await r.closed;
    },
  },
  {
    name: 'send() of ArrayBuffer, views with offsets, DataView and Blob keeps bytes and order',
    async run({ WebSocket, base }) {
      const ws = new WebSocket(`${base}/echo`);
      ws.binaryType = 'arraybuffer';
      const r = record(ws);
      await opened(ws);
      ws.send(new Blob([new Uint8Array([1, 1])]));
      ws.send(new Uint8Array([2, 3]).buffer);
      ws.send(new Uint8Array([9, 4, 5, 9]).subarray(1, 3));
      ws.send(new DataView(new Uint8Array([9, 9, 6]).buffer, 2, 1));
      ws.send(new Uint16Array([0x0807]));
      ws.send('end');
      same(await bytesOf(await r.next()), [1, 1], 'Blob');
      same(await bytesOf(await r.next()), [2, 3], 'ArrayBuffer');
      same(await bytesOf(await r.next()), [4, 5], 'Uint8Array view with an offset');
      same(await bytesOf(await r.next()), [6], 'DataView');
      same((await bytesOf(await r.next())).length, 2, 'Uint16Array bytes');
      same(await r.next(), 'end', 'text after the binary messages');
      ws.close();
      await r.closed;
    },
  },
  {
    name: 'close() argument checks: InvalidAccessError for codes, SyntaxError for long reasons',
    async run({ WebSocket, base }) {
      const ws = new WebSocket(`${base}/echo`);
      const r = record(ws);
      await opened(ws);
      for (const code of [0, 999, 1001, 1005, 1006, 2999, 5000, 65535, 70000, -1, 'abc']) {
        throwsDom('InvalidAccessError', () => ws.close(code as number), `close(${JSON.stringify(code)})`);
      }
      throwsDom('SyntaxError', () => ws.close(1000, 'x'.repeat(124)), 'close with a 124-byte reason');
      throwsDom('SyntaxError', () => ws.close(3000, 'é'.repeat(62)), 'close with 62 two-byte characters');
      throwsDom(
        'InvalidAccessError',
        () => ws.close(1001, 'x'.repeat(200)),
        'the code is checked before the reason',
      );
      same(ws.readyState, 1, 'still OPEN after the rejected calls');
      ws.close(4999.4, 'é'.repeat(61));
      const event = await r.closed;
      same([event.code, event.reason, event.wasClean], [4999, 'é'.repeat(61), true], 'close event');
    },
  },
  {
    name: 'close() with no arguments sends a Close without status: 1005',
    async run({ WebSocket, base }) {
      const ws = new WebSocket(`${base}/echo`);
      const r = record(ws);
      await opened(ws);
      ws.close();
      ws.close(); // a second call while CLOSING does nothing
      const event = await r.closed;
      same([event.code, event.reason, event.wasClean], [1005, '', true], 'close event');
    },
  },
  {
    name: 'server-initiated close: code and reason, clean, no error event',
    async run({ WebSocket, CloseEvent, base }) {
      const ws = new WebSocket(`${base}/echo`);
      const r = record(ws);
      await opened(ws);
      ws.send('cmd:close:4321:server says bye');
      const event = await r.closed;
      check(event instanceof CloseEvent, 'the close event is a CloseEvent');
      check(event instanceof Event, 'the close event is an Event');
      same(
        [event.type, event.code, event.reason, event.wasClean],
        ['close', 4321, 'server says bye', true],
        'close event',
      );
      same(r.events, ['open', 'close'], 'events');
      same(ws.readyState, 3, 'readyState');
    },
  },
  {
    name: 'a Close frame without status from the server is reported as 1005',
    async run({ WebSocket, base }) {
      const ws = new WebSocket(`${base}/echo`);
      const r = record(ws);
      await opened(ws);
      ws.send('cmd:close-empty');
      const event = await r.closed;
      same([event.code, event.reason, event.wasClean], [1005, '', true], 'close event');
    },
  },
  {
    name: 'the server drops TCP: close with 1006, not clean, and no error event (nothing failed here)',
    async run({ WebSocket, base }) {
      const ws = new WebSocket(`${base}/echo`);
      const r = record(ws);
      await opened(ws);
      ws.send('cmd:drop');
      const event = await r.closed;
      same([event.code, event.reason, event.wasClean], [1006, '', false], 'close event');
      same(r.events, ['open', 'close'], 'events');
    },
  },
  {
    name: 'invalid UTF-8 from the server fails the connection: error, then close 1006',
    async run({ WebSocket, base }) {
      const ws = new WebSocket(`${base}/echo`);
      const r = record(ws);
      await opened(ws);
      ws.send('cmd:raw:8102c328');
      const event = await r.closed;
      same([event.code, event.wasClean], [1006, false], 'close event');
      same(r.events, ['open', 'error', 'close'], 'events (the bad message is not delivered)');
    },
  },
  {
    name: 'a rejected handshake: error, then close 1006, never open',
    async run({ WebSocket, base }) {
      const ws = new WebSocket(`${base}/reject`);
      const r = record(ws);
      const event = await r.closed;
      same([event.code, event.reason, event.wasClean], [1006, '', false], 'close event');
      same(r.events, ['error', 'close'], 'events');
      same(ws.readyState, 3, 'readyState');
    },
  },
  {
    name: 'close() while CONNECTING: CLOSING at once, then error and close 1006',
    async run({ WebSocket, base }) {
      const ws = new WebSocket(`${base}/echo`);
      const r = record(ws);
      ws.close(3000, 'never mind');
      same(ws.readyState, 2, 'readyState right after close()');
      const event = await r.closed;
      same([event.code, event.wasClean], [1006, false], 'close event');
      same(r.events, ['error', 'close'], 'events');
    },
  },
  {
    name: 'send() after close() throws nothing and counts in bufferedAmount',
    async run({ WebSocket, base }) {
      const ws = new WebSocket(`${base}/echo`);
      const r = record(ws);
      await opened(ws);
      ws.close();
      const before = ws.bufferedAmount;
      ws.send('abcd');
      ws.send(new Uint8Array(10));
      same(ws.bufferedAmount - before, 14, 'bufferedAmount growth');
      await r.closed;
      ws.send('xy');
      same(ws.bufferedAmount - before, 16, 'bufferedAmount growth after CLOSED');
    },
  },
  {
    name: 'event handler attributes: null, callable objects only, order among listeners, this',
    async run({ WebSocket, base }) {
      const ws = new WebSocket(`${base}/echo`);
      same([ws.onopen, ws.onmessage, ws.onerror, ws.onclose], [null, null, null, null], 'initial handlers');
      ws.onopen = 5 as unknown as null;
      same(ws.onopen, null, 'a number is not a handler');
      const order: string[] = [];
      ws.addEventListener('open', () => order.push('listener 1'));
      const first = () => order.push('first handler');
      ws.onopen = first;
      same(ws.onopen, first, 'the handler is stored');
      ws.addEventListener('open', () => order.push('listener 2'));
      let self: unknown;
      let target: unknown;
      ws.onopen = function (this: unknown, event: Event) {
        self = this;
        target = event.target;
        order.push('second handler');
      };
      const dropped = () => order.push('dropped');
      ws.onmessage = dropped;
      ws.onmessage = null;
      same(ws.onmessage, null, 'handler removed');
      const r = record(ws);
      await opened(ws);
      same(order, ['listener 1', 'second handler', 'listener 2'], 'a replaced handler keeps its place');
      check(self === ws && target === ws, 'this and event.target are the socket');
      ws.send('hello');
      await r.next();
      same(order.includes('dropped'), false, 'a removed handler is not called');
      ws.close();
      await r.closed;
    },
  },
  {
    name: 'message events are MessageEvents with data and the origin of the URL',
    async run({ WebSocket, base }) {
      const ws = new WebSocket(`${base}/echo`);
      const r = record(ws);
      await opened(ws);
      const event = await new Promise<MessageEvent>((resolve) => {
        ws.onmessage = resolve;
        ws.send('who');
      });
      check(event instanceof MessageEvent, 'a MessageEvent');
      same([event.type, event.data, event.origin], ['message', 'who', base], 'message event');
      ws.close();
      await r.closed;
    },
  },
  {
    name: 'extensions: permessage-deflate is offered and reported when the server accepts it',
    async run({ WebSocket, base }) {
      const ws = new WebSocket(`${base}/deflate`);
      const r = record(ws);
      await opened(ws);
      check(ws.extensions.startsWith('permessage-deflate'), `extensions: ${ws.extensions}`);
      const text = 'compress me '.repeat(1000);
      ws.send(text);
      same(await r.next(), text, 'compressed round trip');
      ws.close();
      await r.closed;
    },
  },
];
