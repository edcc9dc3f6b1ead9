import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseClientMessage } from '../../src/chat/protocol.js';

const cases: Array<[string, string | { type: string; [k: string]: unknown }]> = [
  ['{"type":"join","room":"lobby","nick":"alice"}', { type: 'join', room: 'lobby', nick: 'alice' }],
  ['{"type":"join","nick":"  Zoë 2 "}', { type: 'join', room: 'lobby', nick: 'Zoë 2' }],
  ['{"type":"message","text":"  hi  "}', { type: 'message', text: 'hi' }],
  ['not json', 'invalid-json'],
  ['[1,2]', 'invalid-json'],
  ['null', 'invalid-json'],
  ['{"type":"dance"}', 'invalid-type'],
  ['{"type":"join","nick":""}', 'invalid-nick'],
  ['{"type":"join","nick":"<script>"}', 'invalid-nick'],
  [`{"type":"join","nick":"${'a'.repeat(25)}"}`, 'invalid-nick'],
  ['{"type":"join","nick":42}', 'invalid-nick'],
  ['{"type":"join","nick":"a","room":"Big Room"}', 'invalid-room'],
  ['{"type":"join","nick":"a","room":"../etc"}', 'invalid-room'],
  ['{"type":"message","text":"   "}', 'invalid-text'],
  [`{"type":"message","text":"${'x'.repeat(1001)}"}`, 'invalid-text'],
  ['{"type":"message","text":{"nested":true}}', 'invalid-text'],
];

for (const [raw, expected] of cases) {
  test(`parse ${raw.slice(0, 50)}`, () => {
    const parsed = parseClientMessage(raw);
    if (typeof expected === 'string') {
      assert.equal(parsed.ok, false);
      assert.ok(!parsed.ok && parsed.code === expected && parsed.message.length > 0);
    } else {
      assert.deepEqual(parsed, { ok: true, message: expected });
    }
  });
}
