/** WebSocket close codes the service uses (docs/PROTOCOL.md has the table). */
export const CLOSE_NORMAL = 1000;
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_UNSUPPORTED_DATA = 1003;
export const CLOSE_POLICY_VIOLATION = 1008;
export const CLOSE_MESSAGE_TOO_BIG = 1009;
export const CLOSE_INTERNAL_ERROR = 1011;
export const CLOSE_SLOW_CONSUMER = 4000;
/** The subscriber token expired: get a new one (POST /auth/token) and resume with ?since=. */
export const CLOSE_TOKEN_EXPIRED = 4001;
/** Too many client pings: the connection is closed as a flood. */
export const CLOSE_PING_FLOOD = 1008;

/** How long a slow consumer has to take its close frame before the socket is cut. */
export const SLOW_CONSUMER_CLOSE_GRACE_MS = 2000;
/** Retry-After sent with a refusal at the connection limit. */
export const RETRY_AFTER_SECONDS = 5;
