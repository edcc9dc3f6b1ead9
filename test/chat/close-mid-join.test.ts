import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { ChatServer } from '../../src/chat/server.js';
import type { WebSocket } from '../../src/index.js';
import { MemoryEngine } from '../../src/messaging/index.js';
import type { ClientInfo } from '../../src/messaging/protocol.js';
import { ofType, rawMember } from './raw-member.js';

/** A memory engine whose first presence read waits until the test opens the gate. */
class GatedEngine extends MemoryEngine {
  open: () => void = () => {};
  private readonly gate = new Promise<void>((resolve) => {
    this.open = resolve;
  });
  notifyReached: () => void = () => {};
  readonly reached = new Promise<void>((resolve) => {
    this.notifyReached = resolve;
  });
  private gated = true;
  override async presence(channel: string): Promise<ClientInfo[]> {
    if (this.gated) {
      this.gated = false;
      this.notifyReached();
      await this.gate;
    }
    return super.presence(channel);
  }
}

test('a connection closing while its join awaits the engine leaves no room slot, nickname or subscription behind', async () => {
  const engine = new GatedEngine();
  const chat = new ChatServer({ port: 0, host: '127.0.0.1', maxRooms: 1, engine });
  const port = (await chat.listen()).port;
  try {
    const serverSide = once(chat.chat, 'connection') as Promise<[WebSocket]>;
    const attacker = await rawMember(port);
    const [ws] = await serverSide;
    attacker.send({ type: 'join', room: 'a', nick: 'squatter' });
    await engine.reached; // the join holds its room slot and awaits presence
    attacker.close();
    await once(ws, 'close'); // the chat session has released the connection
    engine.open();
    // The rest of the join runs on the memory engine in microtasks: all done before setImmediate.
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(chat.hub.feeds.subscribers('room:a'), undefined, 'no subscription left in room a');
    const member = await rawMember(port);
    member.send({ type: 'join', room: 'b', nick: 'alice' });
    const answer = await member.next((m) => m.type === 'welcome' || m.type === 'error', 'the join answer');
    assert.equal(answer.type, 'welcome', `room a's slot was given back: ${JSON.stringify(answer)}`);
    member.send({ type: 'join', room: 'lobby', nick: 'squatter' });
    assert.equal((await member.next(ofType('welcome'), 'the lobby welcome')).nick, 'squatter');
    member.close();
  } finally {
    await chat.close();
  }
});
