/**
 * The service's own numbers around closing and refusing streams. The codes themselves are the protocol's
 * (`CLOSE` in @data-streaming/protocol, with docs/PROTOCOL.md's table).
 */

/** How long a slow consumer has to take its close frame before the socket is cut. */
export const SLOW_CONSUMER_CLOSE_GRACE_MS = 2000;
