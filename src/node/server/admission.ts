import type * as http from 'node:http';
import { type RequestCheck, validateClientRequest } from '../../protocol/handshake.js';
import { type ClientInfo, resolveClient } from '../trust-proxy.js';
import type { ServerConfig } from './config.js';
import type { ConnectionLimits } from './limits.js';
import type { RefusalReason } from './stats.js';
import { pathOf } from './upgrade-router.js';

/**
 * Whether a handshake may become a connection: ordered steps, each of which
 * accepts (returns nothing) or refuses with the HTTP answer and the reason
 * counted in stats(). Cheap checks come first; nothing is allocated for the
 * connection until every step (and the authenticate hook) has said yes.
 */

export interface Refusal {
  ok: false;
  reason: RefusalReason;
  status: number;
  body: string;
  headers?: Record<string, string | number>;
  /** An application hook threw: reported on the server's 'error' (when listened to). */
  error?: Error;
}

export interface Admitted {
  ok: true;
  /** The checked request: Sec-WebSocket-Key, offered subprotocols and extensions. */
  check: Extract<RequestCheck, { ok: true }>;
  /** The subprotocol chosen, if any. */
  protocol: string | undefined;
  /** The client's address and scheme (through trusted proxies). */
  client: ClientInfo;
}

/** What the steps look at. */
export interface AdmissionContext {
  request: http.IncomingMessage;
  config: ServerConfig<unknown>;
  limits: ConnectionLimits;
  closing: boolean;
  openConnections: number;
}

/** What the steps work out as they go. */
interface Progress {
  check?: Extract<RequestCheck, { ok: true }>;
  protocol?: string;
  client?: ClientInfo;
}

type Step = (context: AdmissionContext, progress: Progress) => Refusal | undefined;

function refusal(
  reason: RefusalReason,
  status: number,
  body: string,
  headers?: Record<string, string | number>,
): Refusal {
  return headers ? { ok: false, reason, status, body, headers } : { ok: false, reason, status, body };
}

/** server.close() was called: before admission, or while an authenticate hook was deciding. */
export const SHUTTING_DOWN: Refusal = refusal('shutting-down', 503, 'server is shutting down');

const notShuttingDown: Step = ({ closing }) => (closing ? SHUTTING_DOWN : undefined);

const servedPath: Step = ({ request, config }) => {
  const path = pathOf(request);
  return config.path !== undefined && path !== config.path
    ? refusal('unknown-path', 404, `no WebSocket endpoint at ${path}`)
    : undefined;
};

/** RFC 6455 section 4.2.1: method, version, Upgrade/Connection, a 16-byte key. */
const validHandshake: Step = ({ request }, progress) => {
  const check = validateClientRequest(request);
  if (!check.ok) {
    const reason = check.status === 426 ? 'unsupported-version' : 'bad-handshake';
    return refusal(reason, check.status, check.reason, check.headers);
  }
  progress.check = check;
  return undefined;
};

/** RFC 6455 section 4.2.2: the server picks one of the client's offers, or none. */
const subprotocol: Step = ({ request, config }, progress) => {
  const offered = progress.check!.protocols;
  if (offered.length === 0) return undefined;
  if (config.selectProtocol) {
    let chosen: string | false | null | undefined;
    try {
      chosen = config.selectProtocol(offered, request);
    } catch (error) {
      // The hook sees what the peer offered: its failure is a 500, never the process's.
      return { ...refusal('subprotocol-error', 500, 'internal error'), error: asError(error) };
    }
    if (!chosen) return undefined;
    if (!offered.includes(chosen)) {
      return refusal('subprotocol-error', 500, 'server selected a subprotocol the client did not offer');
    }
    progress.protocol = chosen;
  } else if (config.protocols) {
    const supported = config.protocols;
    progress.protocol = offered.find((p) => supported.includes(p));
  }
  return undefined;
};

/** RFC 6455 section 10.2: browsers send Origin; other clients may not, and pass. */
const allowedOrigin: Step = ({ request, config }) => {
  const origin = request.headers.origin;
  return config.origins && origin !== undefined && !config.origins.has(origin.toLowerCase())
    ? refusal('origin', 403, `origin ${origin} is not allowed`)
    : undefined;
};

const withinLimits: Step = ({ request, config, limits, openConnections }, progress) => {
  progress.client = resolveClient(request, config.trustProxy);
  return limits.check(progress.client.address, openConnections);
};

const STEPS: readonly Step[] = [
  notShuttingDown,
  servedPath,
  validHandshake,
  subprotocol,
  allowedOrigin,
  withinLimits,
];

/** Run the synchronous steps in order: the first refusal wins. */
export function admit(context: AdmissionContext): Admitted | Refusal {
  const progress: Progress = {};
  for (const step of STEPS) {
    const refused = step(context, progress);
    if (refused) return refused;
  }
  return { ok: true, check: progress.check!, protocol: progress.protocol, client: progress.client! };
}

/** The authenticate hook's verdict: the user to attach, a refusal, or a fault (answered 500). */
export type AuthVerdict<User> =
  | { ok: true; user: User | undefined }
  | Refusal
  | { ok: 'error'; error: Error };

/** Run the authenticate hook (may be async; a throw or a bad status is a fault, never a crash). */
export function authenticate<User>(
  config: ServerConfig<User>,
  request: http.IncomingMessage,
): Promise<AuthVerdict<User>> {
  const hook = config.authenticate;
  if (!hook) return Promise.resolve({ ok: true, user: undefined });
  return Promise.resolve()
    .then(() => hook(request))
    .then(
      (result): AuthVerdict<User> => {
        if (result && 'reject' in result) {
          const status = result.reject;
          if (!Number.isInteger(status) || status < 400 || status > 599) {
            const error = new RangeError(
              `authenticate: reject must be an HTTP status from 400 to 599; got ${status}`,
            );
            return { ok: 'error', error };
          }
          return refusal('auth-rejected', status, result.body ?? 'handshake refused', result.headers);
        }
        return { ok: true, user: result && 'user' in result ? result.user : undefined };
      },
      (error: unknown) => ({ ok: 'error', error: asError(error) }),
    );
}

export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

export const AUTH_FAILED: Refusal = refusal('auth-error', 500, 'authentication failed');
