import { createServer, connect as netConnect, type Socket } from 'node:net';

/**
 * A loopback TCP forwarder in front of a server that can turn every current
 * connection into a black hole: bytes stop flowing both ways but no socket
 * closes, as when a laptop sleeps or a NAT entry is dropped. Connections made
 * afterwards are forwarded normally (the network is back).
 */
export interface Forwarder {
  port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Stop forwarding on every open connection, without closing anything. */
  blackhole(): void;
  close(): Promise<void>;
}

export async function startForwarder(targetPort: number, targetHost = '127.0.0.1'): Promise<Forwarder> {
  const pairs = new Set<[Socket, Socket]>();
  let accepted = 0;
  const server = createServer((client) => {
    accepted++;
    const upstream = netConnect(targetPort, targetHost);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const end = () => {
      client.destroy();
      upstream.destroy();
      pairs.delete(pair);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('forwarder has no port');
  return {
    port: address.port,
    get accepted() {
      return accepted;
    },
    blackhole() {
      for (const [client, upstream] of pairs) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
    },
    async close() {
      for (const [client, upstream] of pairs) {
        client.destroy();
        upstream.destroy();
      }
      pairs.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
