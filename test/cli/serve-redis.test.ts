import assert from 'node:assert/strict';
import { test } from 'node:test';
import { haveRedis, startRedis } from '../redis-server.js';
import { socketeer } from './child.js';

/** What an operator of `socketeer serve --redis` sees in the node's log when Redis goes away and comes back. */
test('serve --redis logs when Redis becomes unreachable and when it is back, not when it shuts down', async (t) => {
  if (!haveRedis(t)) return;
  const redis = await startRedis(t);
  const serve = socketeer(['serve', '--port', '0', '--host', '127.0.0.1', '--redis', redis.url]);
  try {
    const [, web] = (await serve.waitFor(/open (http:\/\/\S+)\//)) as unknown as [string, string];
    const readyz = async () => (await fetch(`${web}/readyz`)).status;
    assert.equal(await readyz(), 200);

    await redis.stop();
    await serve.waitFor(/socketeer serve: Redis unreachable: .*GET \/readyz answers 503/, 'stderr');
    assert.equal(await readyz(), 503);

    await redis.restart();
    await serve.waitFor(/socketeer serve: Redis reachable again; GET \/readyz answers 200/, 'stderr');
    assert.equal(await readyz(), 200);

    serve.child.kill('SIGINT');
    assert.equal(await serve.exited, 0);
    assert.equal(serve.stderr().match(/Redis unreachable/g)?.length, 1, serve.stderr());
  } finally {
    serve.child.kill('SIGKILL');
  }
});
