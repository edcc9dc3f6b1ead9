/**
 * The socketeer messaging client core: environment-neutral (no Node or DOM
 * APIs), shared by the Node entry (socketeer/messaging/client) and the
 * browser SDK bundle.
 */

export {
  type ClientInfo,
  CloseCodes,
  ErrorCodes,
  type HistoryResult,
  type PresenceResult,
  type PresenceStatsResult,
  type Publication,
  type PublishResult,
  type StreamPosition,
  SUBPROTOCOL,
} from '../protocol.js';
export { MessagingClient } from './client.js';
export { NotSentError, ReplyError, TimeoutError } from './errors.js';
export { Subscription } from './subscription.js';
export type * from './types.js';
