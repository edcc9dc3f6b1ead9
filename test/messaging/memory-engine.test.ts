import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryEngine } from '../../src/messaging/index.js';
import { runEngineContract } from './engine-contract.js';

runEngineContract('memory', () => new MemoryEngine({ sweepInterval: 20 }));

test('MemoryEngine: options are checked with what is allowed', () => {
  assert.throws(() => new MemoryEngine({ sweepInterval: 0 }), /"sweepInterval" must be an integer from 1/);
  assert.throws(
    () => new MemoryEngine({ sweep: 1 } as never),
    /unknown option "sweep"; allowed options are: sweepInterval, metaTtl/,
  );
});
