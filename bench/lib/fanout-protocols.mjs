// The two wire protocols the fan-out generator speaks over raw WebSockets:
// socketeer's `socketeer.v1.json` and Socket.IO v5 over Engine.IO v4
// ("0{...}" open, "40" connect, "42[...]" event, "43<id>[...]" ack, "2"/"3" ping/pong).
// Each subscriber reports deliveries as (sequence, send time) parsed from bytes.
import { intAfter, numberAfter, openRaw } from './raw-client.mjs';

const OFFSET = Buffer.from('"offset":');
const SEQ = Buffer.from('"s":');
const TIME = Buffer.from('"t":');
const PUB_PUSH = Buffer.from('{"push":"pub"');
const SIO_EVENT = Buffer.from('42["m"');

function once() {
  let resolve;
  let reject;
  const promise = new Promise((a, b) => {
    resolve = a;
    reject = b;
  });
  return { promise, resolve, reject };
}

/**
 * socketeer. subscribe(port, channel, onDelivery(seq, sentAt), opts) resolves once
 * subscribed; seq is the publication's offset. opts.since recovers from a position.
 */
export const socketeer = {
  async subscriber(port, channel, onDelivery, { since, onClose, onSubscribed, onOpen } = {}) {
    const ready = once();
    const client = await openRaw(port, '/', {
      protocol: 'socketeer.v1.json',
      onClose: () => {
        ready.reject(new Error('closed before subscribed'));
        onClose?.();
      },
      onMessage(payload) {
        if (payload.indexOf(PUB_PUSH) === 0) {
          onDelivery(intAfter(payload, OFFSET), numberAfter(payload, TIME));
          return;
        }
        const message = JSON.parse(payload.toString());
        if (message.id === 1) {
          const sub = message.result?.subs?.[channel];
          if (!sub || sub.error) ready.reject(new Error(JSON.stringify(message.error ?? sub?.error)));
          else {
            onSubscribed?.(sub);
            ready.resolve();
          }
        }
      },
    });
    onOpen?.();
    const subs = { [channel]: since ? { since } : {} };
    client.sendText(JSON.stringify({ id: 1, cmd: 'connect', params: { subs } }));
    await ready.promise;
    return client;
  },
  /** A publisher: publish(channel, seq, sentAt) -> onAck(seq-less id, error?) */
  async publisher(port, onAck) {
    const ready = once();
    const client = await openRaw(port, '/', {
      protocol: 'socketeer.v1.json',
      onClose: () => ready.reject(new Error('publisher closed')),
      onMessage(payload) {
        const id = intAfter(payload, Buffer.from('"id":'));
        if (id === 1) {
          ready.resolve();
          return;
        }
        const failed = payload.indexOf('"error"') >= 0 ? payload.toString() : null;
        onAck(id, failed);
      },
    });
    client.sendText('{"id":1,"cmd":"connect","params":{}}');
    await ready.promise;
    let nextId = 2;
    return {
      client,
      publish(channel, seq, sentAt) {
        const id = nextId++;
        client.sendText(
          `{"id":${id},"cmd":"publish","params":{"channel":"${channel}","data":{"s":${seq},"t":${sentAt}}}}`,
        );
        return id;
      },
    };
  },
};

/** Socket.IO 4 (websocket transport, rooms); seq is the publisher's per-room counter. */
export const socketio = {
  async subscriber(port, channel, onDelivery, { onClose, onOpen } = {}) {
    const ready = once();
    const client = await openRaw(port, '/socket.io/?EIO=4&transport=websocket', {
      onClose: () => {
        ready.reject(new Error('closed before joined'));
        onClose?.();
      },
      onMessage(payload, client) {
        if (payload.indexOf(SIO_EVENT) === 0) {
          onDelivery(intAfter(payload, SEQ), numberAfter(payload, TIME));
          return;
        }
        const text = payload.toString();
        if (text === '2') client.sendText('3');
        else if (text[0] === '0') {
          onOpen?.();
          client.sendText('40');
        } else if (text.startsWith('40')) client.sendText(`421["join","${channel}"]`);
        else if (text.startsWith('431')) ready.resolve();
        else if (text.startsWith('44')) ready.reject(new Error(`connect refused: ${text}`));
      },
    });
    await ready.promise;
    return client;
  },
  async publisher(port, onAck) {
    const ready = once();
    const client = await openRaw(port, '/socket.io/?EIO=4&transport=websocket', {
      onClose: () => ready.reject(new Error('publisher closed')),
      onMessage(payload, client) {
        const text = payload.toString();
        if (text === '2') client.sendText('3');
        else if (text[0] === '0') client.sendText('40');
        else if (text.startsWith('40')) ready.resolve();
        else if (text.startsWith('43')) onAck(Number.parseInt(text.slice(2), 10), null);
      },
    });
    await ready.promise;
    let nextId = 1;
    return {
      client,
      publish(channel, seq, sentAt) {
        const id = nextId++;
        client.sendText(`42${id}["pub","${channel}",{"s":${seq},"t":${sentAt}}]`);
        return id;
      },
    };
  },
};
