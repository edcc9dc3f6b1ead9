/**
 * What one hostile peer can send over one connection (review of the messaging
 * layer): deep JSON, odd timing and an engine that refuses must end as error
 * replies, never as a crash, an unhandled rejection or unbounded memory.
 */

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ErrorCodes } from '../../src/messaging/protocol.js';
import { RawClient, startHub, urlOf } from './client.js';

// Trip-wires: any rejection or exception escaping the hub fails the file.
const escaped: unknown[] = [];
const onEscape = (error: unknown) => escaped.push(error);
before(() => {
  process.on('unhandledRejection', onEscape);
  process.on('uncaughtException', onEscape);
});
after(() => {
  process.off('unhandledRejection', onEscape);
  process.off('uncaughtException', onEscape);
  assert.deepEqual(escaped, [], 'nothing escaped the hub');
});

/** Nested arrays `depth` deep: tiny on the wire, deep enough to overflow a recursive encoder. */
function deepArray(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth);
}

describe('deeply nested JSON', () => {
  test('a publish whose data nests too deep is a bad-request; nothing is stored, subscribers and history stay usable', async () => {
    const hub = await startHub({ commandRate: 0, namespaces: { room: { clientPublish: true } } });
    try {
      const reader = await RawClient.connected(urlOf(hub), { subs: { 'room:a': {} } });
      const attacker = await RawClient.connected(urlOf(hub));
      const deep = `{"id":7,"cmd":"publish","params":{"channel":"room:a","data":${deepArray(30_000)}}}`;
      attacker.sendRaw(deep);
      const reply = await attacker.reply(7);
      assert.equal(reply.error?.code, ErrorCodes.badRequest);
      assert.match(reply.error!.message, /nest/);
      // The channel still works for everyone: a normal publish reaches the reader at offset 1.
      const ok = await attacker.request<{ offset: number }>('publish', { channel: 'room:a', data: 'fine' });
      assert.equal(ok.offset, 1);
      await reader.until(() => reader.pubs('room:a').length === 1, 'the normal publication');
      const page = await reader.request<{ publications: unknown[] }>('history', { channel: 'room:a' });
      assert.equal(page.publications.length, 1);
      reader.close();
      attacker.close();
    } finally {
      await hub.close();
    }
  });

  test('deep JSON in rpc data, connect data or unknown fields is refused before any hook sees it', async () => {
    let hookCalls = 0;
    const hub = await startHub({
      commandRate: 0,
      maxBadCommands: 100,
      rpc: {
        echo: ({ data }) => {
          hookCalls++;
          return data;
        },
      },
    });
    try {
      const client = await RawClient.connected(urlOf(hub));
      client.sendRaw(`{"id":3,"cmd":"rpc","params":{"method":"echo","data":${deepArray(20_000)}}}`);
      client.sendRaw(`{"id":4,"cmd":"history","params":{"channel":"a"},"extra":${deepArray(20_000)}}`);
      for (const id of [3, 4]) assert.equal((await client.reply(id)).error?.code, ErrorCodes.badRequest);
      // Nesting up to the documented limit still works.
      const shallow = await client.request<{ data: unknown }>('rpc', {
        method: 'echo',
        data: JSON.parse(deepArray(60)),
      });
      assert.deepEqual(shallow.data, JSON.parse(deepArray(60)));
      assert.equal(hookCalls, 1);
      client.close();
    } finally {
      await hub.close();
    }
  });
});

describe('replies that cannot be encoded', () => {
  test('an rpc handler returning a BigInt or a cycle answers internal (reported on error), never an unhandled rejection', async () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const hub = await startHub({ rpc: { big: () => 10n, cycle: () => cyclic, ok: () => 'fine' } });
    const reported: Error[] = [];
    hub.on('error', (error) => reported.push(error));
    try {
      const client = await RawClient.connected(urlOf(hub));
      for (const method of ['big', 'cycle']) {
        const reply = await client.call('rpc', { method });
        assert.equal(reply.error?.code, ErrorCodes.internal);
        assert.equal(reply.error?.temporary, true);
      }
      assert.equal(reported.length, 2);
      assert.deepEqual((await client.request('rpc', { method: 'ok' })).data, 'fine');
      client.close();
    } finally {
      await hub.close();
    }
  });
});
