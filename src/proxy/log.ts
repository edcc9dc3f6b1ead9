/**
 * What the proxy reports as it runs (the 'log' event of ReverseProxy): one
 * record per ejection, readmission, 503 and backend failure, so an operator can
 * see why clients are refused. The CLI prints them to stderr (text or JSON lines).
 */
export type ProxyLogEvent =
  /** A backend was taken out of rotation (health checks or failed connects). */
  | { type: 'backend-down'; backend: string; reason: string }
  /** A backend is back in rotation. */
  | { type: 'backend-up'; backend: string; reason: string }
  /** A client got 503 (no healthy backend, limits, shutting down). */
  | { type: 'unavailable'; status: 503; reason: string; path: string; client: string }
  /** Connecting to, or talking to, a backend failed for a client (502/504, or a retry on another backend). */
  | { type: 'backend-failure'; backend: string; status: number; reason: string }
  /** A fault of the proxy itself while handling a request (answered 500). */
  | { type: 'internal-error'; reason: string };

/** One line of text for a log record. */
export function formatLogEvent(event: ProxyLogEvent): string {
  switch (event.type) {
    case 'backend-down':
      return `backend ${event.backend} down: ${event.reason}`;
    case 'backend-up':
      return `backend ${event.backend} up: ${event.reason}`;
    case 'unavailable':
      return `503 for ${event.client} ${event.path}: ${event.reason}`;
    case 'backend-failure':
      return `backend ${event.backend} failed (${event.status}): ${event.reason}`;
    case 'internal-error':
      return `internal error: ${event.reason}`;
  }
}
