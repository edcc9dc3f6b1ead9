/**
 * socketeer/messaging: channels, exact history recovery, presence,
 * acknowledged idempotent publishes and RPC over the socketeer.v1.json
 * subprotocol (docs/protocol.md).
 *
 *   import { Hub } from 'socketeer/messaging';
 *   const hub = new Hub({ port: 8080, namespaces: { chat: { presence: true, joinLeave: true, clientPublish: true } } });
 */

export type {
  Authenticate,
  CanPublish,
  CanSubscribe,
  ChannelContext,
  ConnectContext,
  Identity,
  RpcHandler,
} from './context.js';
export { HubError } from './context.js';
export * from './engine.js';
export { Hub, type HubEventMap } from './hub.js';
export type { HubOptions, HubWebSocketOptions } from './hub-options.js';
export { LocalConnection, type LocalConnectionOptions } from './local.js';
export { MemoryEngine, type MemoryEngineOptions } from './memory-engine.js';
export type { NamespaceOptions } from './namespaces.js';
export * from './protocol.js';
export type { Session, SessionSocket } from './session.js';
