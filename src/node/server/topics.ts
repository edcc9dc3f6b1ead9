import { encodeFrame, encodeTextFrame } from '../../protocol/frame-encoder.js';
import { JOIN_BROADCAST_BELOW } from '../defaults.js';
import { kWriteFrame } from '../internal.js';
import { type SendData, toBuffer } from '../send-queue.js';
import type { WebSocket } from '../websocket.js';

/**
 * Fan-out: one message to many connections, framed once. The frame is encoded
 * a single time and the same bytes are written to every socket; it goes
 * uncompressed, which RFC 7692 allows on compressed connections too. Each
 * connection keeps its own order (kWriteFrame queues behind its pending sends).
 */

export interface BroadcastOptions<Socket> {
  binary?: boolean;
  filter?: (ws: Socket) => boolean;
}

/** Frame `data` once; below JOIN_BROADCAST_BELOW header and payload become one buffer (one write per socket). */
export function encodeOnce(data: SendData, binary?: boolean): Buffer[] {
  const options = { fin: true, rsv1: false, maskKeys: undefined };
  const frame =
    typeof data === 'string' && binary !== true
      ? encodeTextFrame(data, options)
      : encodeFrame(binary === false ? 0x1 : 0x2, toBuffer(data), options);
  const [header, payload] = frame;
  if (header && payload && header.length + payload.length < JOIN_BROADCAST_BELOW) {
    return [Buffer.concat(frame)];
  }
  return frame;
}

/** Send to every connection (`filter` may pick); returns the number of recipients. */
export function broadcast<Socket extends WebSocket>(
  connections: Iterable<Socket>,
  data: SendData,
  options: BroadcastOptions<Socket> = {},
): number {
  const frame = encodeOnce(data, options.binary);
  let sent = 0;
  for (const ws of connections) {
    if ((!options.filter || options.filter(ws)) && ws[kWriteFrame](frame)) sent++;
  }
  return sent;
}

/** Subscribers per topic, for one server. A topic exists while it has subscribers. */
export class TopicRegistry<Socket extends WebSocket> {
  private readonly topics = new Map<string, Set<Socket>>();

  add(topic: string, ws: Socket): void {
    let members = this.topics.get(topic);
    if (!members) this.topics.set(topic, (members = new Set()));
    members.add(ws);
  }

  remove(topic: string, ws: Socket): void {
    const members = this.topics.get(topic);
    if (members?.delete(ws) && members.size === 0) this.topics.delete(topic);
  }

  /** Send to the subscribers of `topic`, framed once; returns the number of recipients. */
  publish(topic: string, data: SendData, options: { binary?: boolean } = {}): number {
    const members = this.topics.get(topic);
    return members ? broadcast(members, data, { binary: options.binary }) : 0;
  }

  subscribers(topic: string): number {
    return this.topics.get(topic)?.size ?? 0;
  }
}
