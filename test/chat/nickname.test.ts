import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isSingleScript, looksAlike, nickKeys, skeleton } from '../../src/chat/nickname.js';
import { parseClientMessage } from '../../src/chat/protocol.js';
import { Rooms } from '../../src/chat/rooms.js';

/** Homoglyph nicknames (issue 11 item 12): NFKC, one script, confusable skeletons. */

const join = (nick: string) => parseClientMessage(JSON.stringify({ type: 'join', nick }));

test('NFKC: fullwidth and compatibility forms become plain letters', () => {
  assert.deepEqual(join('Ａｌｉｃｅ'), { ok: true, message: { type: 'join', room: 'lobby', nick: 'Alice' } });
  assert.deepEqual(join('ﬁona'), { ok: true, message: { type: 'join', room: 'lobby', nick: 'fiona' } });
  // A decomposed é (e + U+0301) is composed, so it passes the letters-only rule.
  assert.deepEqual(join('Jose\u0301'), { ok: true, message: { type: 'join', room: 'lobby', nick: 'José' } });
});

test('mixed scripts are refused, with the scripts named; single scripts and CJK mixes pass', () => {
  const mixed = join('\u0410lice'); // Cyrillic А + Latin "lice"
  assert.ok(!mixed.ok && mixed.code === 'invalid-nick');
  assert.ok(!mixed.ok && /Latin and Cyrillic|Cyrillic and Latin/.test(mixed.message));
  assert.equal(join('p\u0430ypal').ok, false, 'Latin with one Cyrillic а');
  assert.equal(join('\u03bfscar').ok, false, 'Greek ο + Latin');
  for (const fine of [
    'Борис',
    'Σωκράτης',
    'たなか太郎',
    '김민준',
    'alice_2',
    'Zoë 2',
    'Ōtani 翔平',
    'محمد',
  ]) {
    assert.ok(isSingleScript(fine), fine);
    assert.equal(join(fine).ok, true, fine);
  }
});

test('skeletons: look-alikes collide, different names do not', () => {
  const alike: Array<[string, string]> = [
    ['Alice', 'AIice'], // capital i for l
    ['ABC', '\u0410\u0412\u0421'], // all-Cyrillic АВС
    ['mary', 'rnary'],
    ['bob0', 'bobo'],
    ['will', 'wi11'],
    ['Bob', 'bob'], // case
  ];
  for (const [a, b] of alike) assert.ok(looksAlike(nickKeys(a), nickKeys(b)), `${a} ~ ${b}`);
  const different: Array<[string, string]> = [
    ['alice', 'alicia'],
    ['bob', 'rob'],
    ['Борис', 'Boris'],
  ];
  for (const [a, b] of different) assert.ok(!looksAlike(nickKeys(a), nickKeys(b)), `${a} !~ ${b}`);
  assert.equal(skeleton('\u0410\u0412\u0421'), 'abc');
});

test("a room refuses a nickname that looks like a member's", () => {
  const rooms = new Rooms<string>({ maxRooms: 0, maxRoomsPerIp: 0 });
  rooms.enter('r', 'conn-1', 'Alice', '127.0.0.1');
  assert.equal(rooms.lookalike('r', 'alice'), 'Alice');
  assert.equal(rooms.lookalike('r', 'AIice'), 'Alice');
  assert.equal(rooms.lookalike('r', 'Alicia'), undefined);
  assert.equal(rooms.lookalike('other', 'Alice'), undefined);
});
