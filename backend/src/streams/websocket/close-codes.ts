/**
 * The service's own numbers around closing and refusing streams. The codes themselves are the protocol's
 * (`CLOSE` in @data-streaming/protocol, with docs/PROTOCOL.md's table).
 */

/** How long a slow consumer has to take its close frame before the socket is cut. */
export const SLOW_CONSUMER_CLOSE_GRACE_MS = 2000;
/** Retry-After sent with a refusal at the connection limit. */
export const RETRY_AFTER_SECONDS = 5;
/** Retry-After sent while shutting down: a restart takes a second or two, so clients come back soon after. */
export const SHUTTING_DOWN_RETRY_AFTER_SECONDS = 1;
