/**
 * Raised (or reported) when the peer breaks RFC 6455. `closeCode` is the code the
 * endpoint sends in its Close frame when it fails the connection.
 */
export class ProtocolError extends Error {
  override name = 'ProtocolError';
  constructor(
    readonly closeCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** The opening handshake was refused or could not be understood. */
export class HandshakeError extends Error {
  override name = 'HandshakeError';
  constructor(
    message: string,
    /** HTTP status the server answered with (client side) or should answer with (server side). */
    readonly statusCode?: number,
    readonly headers?: Record<string, string | string[] | undefined>,
    readonly body?: string,
  ) {
    super(message);
  }
}

/** A method was called in a state that does not allow it (e.g. send() after close()). */
export class InvalidStateError extends Error {
  override name = 'InvalidStateError';
}
