/** WebSocket close codes the service uses (docs/PROTOCOL.md has the table). */
export const CLOSE_NORMAL = 1000;
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_UNSUPPORTED_DATA = 1003;
export const CLOSE_POLICY_VIOLATION = 1008;
export const CLOSE_MESSAGE_TOO_BIG = 1009;
export const CLOSE_INTERNAL_ERROR = 1011;
/**
 * A browser's upgrade refused for now (429 or 503: rate, connection limit, shutting down): a browser cannot read the
 * HTTP status of a refused upgrade, so one that sent Origin is let in and closed at once with this code (RFC 6455
 * registry: Try Again Later) and a reason of JSON `{"code", "retry_after_seconds"}`.
 */
export const CLOSE_TRY_AGAIN_LATER = 1013;
export const CLOSE_SLOW_CONSUMER = 4000;
/** The subscriber token expired: get a new one (POST /auth/token) and resume with ?since=. */
export const CLOSE_TOKEN_EXPIRED = 4001;
/** Too many client pings: the connection is closed as a flood. */
export const CLOSE_PING_FLOOD = 1008;

/** How long a slow consumer has to take its close frame before the socket is cut. */
export const SLOW_CONSUMER_CLOSE_GRACE_MS = 2000;
/** Retry-After sent with a refusal at the connection limit. */
export const RETRY_AFTER_SECONDS = 5;
/** Retry-After sent while shutting down: a restart takes a second or two, so clients come back soon after. */
export const SHUTTING_DOWN_RETRY_AFTER_SECONDS = 1;
