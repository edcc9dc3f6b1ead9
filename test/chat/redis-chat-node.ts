/**
 * One chat server on the Redis engine in its own process, for the tests that
 * SIGKILL it. argv: redis URL, presence lease ms. Prints "listening <port>".
 */
import { ChatServer } from '../../src/chat/server.js';
import { RedisEngine } from '../../src/messaging/redis/index.js';

const [url, lease] = process.argv.slice(2);
const chat = new ChatServer({
  port: 0,
  host: '127.0.0.1',
  engine: new RedisEngine({ url: url!, presenceSweepMs: 100 }),
  presenceTtl: Number(lease),
});
const { port } = await chat.listen();
process.stdout.write(`listening ${port}\n`);
