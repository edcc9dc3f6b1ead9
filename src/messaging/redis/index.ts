/**
 * socketeer/messaging/redis — the Redis engine of the messaging layer.
 * This entry (and only this one) imports the `redis` package (node-redis,
 * an optional peer dependency): the core and the memory engine never load it.
 */

export { RedisEngine } from './engine.js';
export { LIBRARY_NAME, LIBRARY_VERSION } from './functions.js';
export { type RedisEngineOptions, redisOptionsFromUrl } from './options.js';

/** The environment variable `socketeer serve` reads when --redis is not given. */
export const REDIS_URL_ENV = 'SOCKETEER_REDIS_URL';
