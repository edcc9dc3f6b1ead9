import type { ErrorBody, ErrorCode } from '../protocol.js';

/** The server answered a command with an error (docs/protocol.md lists the codes). */
export class ReplyError extends Error {
  override readonly name = 'ReplyError';
  readonly code: ErrorCode;
  /** true: the same command may succeed if retried later. */
  readonly temporary: boolean;

  constructor(body: ErrorBody, command: string) {
    super(`${command}: ${body.code}: ${body.message}`);
    this.code = body.code;
    this.temporary = body.temporary === true;
  }
}

/** No reply within the command's timeout (including time spent waiting for a connection). */
export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

/**
 * The command could not be (re)sent: the offline queue was full, the client was
 * closed, the server told it not to reconnect, or the connection dropped while
 * a non-repeatable command (rpc) was in flight.
 */
export class NotSentError extends Error {
  override readonly name = 'NotSentError';
}
