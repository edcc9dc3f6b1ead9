/**
 * The messaging layer's option checks are the shared ones (src/check-options.ts,
 * a neutral module: the messaging layer still uses nothing of src/node).
 */
export {
  checkBoolean,
  checkFunction,
  checkInteger,
  checkKnownKeys,
  checkListenOptions,
  checkMilliseconds as checkMs,
  checkObject,
  describe,
  MAX_TIMER_MS,
} from '../check-options.js';
