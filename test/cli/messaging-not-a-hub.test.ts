import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startEchoServer, startServer } from '../node/net-helpers.js';
import { socketeerToEnd } from './child.js';

/**
 * sub / pub / presence pointed at something that is not a messaging hub (the
 * chat's /chat, a wrong path, another WebSocket server): reconnecting cannot
 * help, so each says why on one line and exits 1 instead of retrying.
 */
describe('socketeer sub / pub / presence at a URL that is no hub', () => {
  test('a WebSocket server that does not speak socketeer.v1.json', async () => {
    const { server, url } = await startEchoServer();
    try {
      for (const args of [
        ['sub', `${url}/chat`, 'demo:a'],
        ['pub', `${url}/chat`, 'demo:a', '1'],
      ]) {
        const r = await socketeerToEnd(args, '');
        assert.equal(r.code, 1, `${args[0]}: ${r.stderr}`);
        assert.match(
          r.stderr,
          new RegExp(
            `socketeer ${args[0]}: ${url}/chat is a WebSocket endpoint but not a socketeer messaging hub \\(it did not select socketeer\\.v1\\.json\\); socketeer serve has its hub at /connection\\n$`,
          ),
        );
      }
    } finally {
      await server.close();
    }
  });

  test('a path with no WebSocket endpoint (404)', async () => {
    const { server, url } = await startServer({ path: '/connection' });
    try {
      for (const args of [
        ['presence', `${url}/wrong`, 'demo:a'],
        ['sub', `${url}/wrong`, 'demo:a'],
      ]) {
        const r = await socketeerToEnd(args, '');
        assert.equal(r.code, 1, `${args[0]}: ${r.stderr}`);
        assert.match(
          r.stderr,
          new RegExp(
            `(?:^|\\n)socketeer ${args[0]}: no messaging hub at ${url}/wrong: server answered 404 .*\\(socketeer serve has its hub at /connection\\)\\n$`,
          ),
        );
      }
    } finally {
      await server.close();
    }
  });
});
