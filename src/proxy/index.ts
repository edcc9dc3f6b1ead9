/**
 * socketeer/proxy: the WebSocket-aware reverse proxy and load balancer.
 *
 *   import { ReverseProxy } from 'socketeer/proxy';
 */

export type { BackendTls, HealthCheckOptions } from './backend.js';
export type { Algorithm } from './balancer.js';
export type { Balance, ProxyOptions, RouteOptions } from './config.js';
export { ReverseProxy } from './proxy.js';
export type { DataMode } from './session.js';
