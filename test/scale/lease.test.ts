import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkHubOptions } from '../../src/messaging/hub-options.js';

/** Issue 15: a dead node's presence entries leave within a node lease of at most 15 s. */
test('the default presence lease is at most 15 s (refreshed every third of it)', () => {
  const { presenceTtl } = checkHubOptions('Hub', { noServer: true }).settings;
  assert.ok(presenceTtl > 0 && presenceTtl <= 15_000, `presenceTtl ${presenceTtl}`);
});
