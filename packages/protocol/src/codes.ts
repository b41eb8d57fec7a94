/**
 * The codes of the protocol, each defined once: WebSocket close codes (also the `code` of an SSE `error` event), the
 * `code` of an `error` frame, the `error` of every HTTP error body, and why a resume could not be served whole.
 * docs/PROTOCOL.md and the AsyncAPI document are written from these tables.
 */

/** A close code, with what it means and what a client should do about it. */
export interface CloseCodeInfo {
  name: string;
  meaning: string;
  action: string;
}

export const CLOSE = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  UNSUPPORTED_DATA: 1003,
  INVALID_PAYLOAD: 1007,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,
  TRY_AGAIN_LATER: 1013,
  SLOW_CONSUMER: 4000,
  TOKEN_EXPIRED: 4001,
  /** A browser's upgrade refused for good (it cannot read the HTTP status): 4000 + the status. */
  BAD_REQUEST: 4400,
  UNAUTHORIZED: 4401,
  FORBIDDEN: 4403,
  NOT_FOUND: 4404,
} as const;

export type CloseCode = (typeof CLOSE)[keyof typeof CLOSE];

export const CLOSE_CODES: Readonly<Record<CloseCode, CloseCodeInfo>> = {
  1000: { name: 'normal', meaning: 'normal closure', action: 'none' },
  1001: { name: 'going_away', meaning: 'the server is shutting down', action: 'reconnect (to another instance) with since' },
  1003: { name: 'unsupported_data', meaning: 'a binary frame was sent; only text is accepted', action: 'fix the client' },
  1007: { name: 'invalid_payload', meaning: 'a text frame that is not valid UTF-8', action: 'fix the client' },
  1008: {
    name: 'policy_violation',
    meaning:
      'the subscription could not be honoured (e.g. the resume position became invalid), or more than websocket.max_client_pings_per_second pings or messages in a second',
    action: 'reconnect without since; ping less',
  },
  1009: { name: 'message_too_big', meaning: 'a frame larger than websocket.message_size_limit', action: 'fix the client' },
  1011: { name: 'internal_error', meaning: 'internal error', action: 'reconnect with backoff' },
  1013: {
    name: 'try_again_later',
    meaning:
      'a browser\'s connection refused for now (rate limit, connection limit, shutting down); the reason is JSON {"code", "retry_after_seconds"}',
    action: 'wait retry_after_seconds, plus jitter, then reconnect with since',
  },
  4000: {
    name: 'slow_consumer',
    meaning:
      'past websocket.max_queue_bytes unsent bytes, its connection took nothing for performance_optimization.overload_stall_checks load checks while the service kept up, or its held backlog passed the channel history',
    action: 'read faster; reconnect with since',
  },
  4001: {
    name: 'token_expired',
    meaning: 'the subscriber token expired',
    action: 'get a new token (POST /auth/token) and reconnect with since',
  },
  4400: {
    name: 'bad_request',
    meaning: 'a browser\'s upgrade with a bad request (a malformed since or from); the reason is JSON {"code", "message"}',
    action: 'fix the request; do not retry it as it is',
  },
  4401: {
    name: 'unauthorized',
    meaning: 'a browser\'s upgrade without a valid credential; the reason is JSON {"code", "message"}',
    action: 'get a credential; do not retry without one',
  },
  4403: {
    name: 'forbidden',
    meaning:
      'a browser\'s upgrade whose credential does not grant the channel, or from an origin not allowed; the reason is JSON {"code", "message"}',
    action: 'use a credential that grants the channel; do not retry as it is',
  },
  4404: {
    name: 'not_found',
    meaning: 'a browser\'s upgrade to an unknown channel or a transport switched off; the reason is JSON {"code", "message"}',
    action: 'fix the channel name; do not retry',
  },
};

/** The close code that tells a browser about an upgrade refused with this HTTP status (1013 for 429 and 503). */
export function closeCodeForStatus(status: number): CloseCode | undefined {
  switch (status) {
    case 400:
      return CLOSE.BAD_REQUEST;
    case 401:
      return CLOSE.UNAUTHORIZED;
    case 403:
      return CLOSE.FORBIDDEN;
    case 404:
      return CLOSE.NOT_FOUND;
    case 429:
    case 503:
      return CLOSE.TRY_AGAIN_LATER;
    default:
      return undefined;
  }
}

/** The `code` of an `error` frame sent for a client message the service does not take (the socket stays open). */
export const FRAME_ERROR_UNSUPPORTED_MESSAGE = 4400;

/** The only message a client may send on a WebSocket (for clients that cannot see protocol pings), and its answer. */
export const CLIENT_PING = '{"kind":"ping"}';
export const SERVER_PONG = '{"kind":"pong"}';

/** The subprotocol the service speaks; a browser sends its token as a second subprotocol `bearer.<token>`. */
export const SUBPROTOCOL = 'data-streaming.v1';
export const TOKEN_SUBPROTOCOL_PREFIX = 'bearer.';

/** Why a resume could not be served whole (`recovered: false`). */
export const GAP_REASONS = {
  history_exceeded: 'history no longer reaches back to the position or time asked for: everything it holds follows',
  epoch_changed: 'the position is from an earlier lifetime of the history: everything of the current one follows',
  history_unavailable: 'the shared history (Redis) cannot be read now: live events follow',
} as const;

export type GapReason = keyof typeof GAP_REASONS;

export interface ErrorCodeInfo {
  status: number;
  meaning: string;
}

/** Every `error` of an HTTP error body (and of an upgrade refusal), with its status. */
export const ERROR_CODES = {
  bad_request: { status: 400, meaning: 'a malformed since, from, to, limit, cursor or Last-Event-ID, or another bad parameter' },
  position_ahead: { status: 400, meaning: "a resume position beyond the channel's newest message" },
  time_ahead: { status: 400, meaning: 'a from time in the future' },
  malformed_json: { status: 400, meaning: 'a body that is not JSON' },
  invalid_event: { status: 400, meaning: 'an event breaks the schema; details.problems[] = {index?, field, message}' },
  invalid_notification: { status: 400, meaning: 'a notification breaks the schema; details.problems[]' },
  invalid_alertmanager_payload: { status: 400, meaning: 'an Alertmanager webhook body breaks the schema; details.problems[]' },
  invalid_token_request: { status: 400, meaning: 'a POST /auth/token body breaks the schema; details.problems[]' },
  invalid_refresh_request: { status: 400, meaning: 'a POST /dashboards/refresh body breaks the schema; details.problems[]' },
  channel_unavailable: { status: 400, meaning: 'a notification for a delivery channel that is switched off or not configured' },
  no_channel: { status: 400, meaning: 'no enabled and configured delivery channel is left for the notification' },
  too_deep: { status: 400, meaning: 'a published body nests deeper than service.max_json_depth' },
  invalid_utf8: { status: 400, meaning: 'a published body is not valid UTF-8' },
  invalid_idempotency_key: { status: 400, meaning: 'an Idempotency-Key that is empty, longer than 255, or not printable ASCII' },
  unauthorized: { status: 401, meaning: 'API keys are configured and the request has no credential or an unknown key' },
  invalid_token: { status: 401, meaning: 'a subscriber token that is forged, altered or not yet valid' },
  token_expired: { status: 401, meaning: 'a subscriber token that expired' },
  forbidden: { status: 403, meaning: 'the credential lacks the scope, or the token does not grant the stream' },
  origin_not_allowed: { status: 403, meaning: 'a browser Origin outside auth.allowed_origins' },
  not_found: { status: 404, meaning: 'no such path or resource' },
  unknown_channel: { status: 404, meaning: 'no such channel or stream; details.known lists them' },
  unknown_dashboard: { status: 404, meaning: 'no such dashboard; details.known lists them' },
  websocket_disabled: { status: 404, meaning: 'WebSocket streaming is switched off' },
  sse_disabled: { status: 404, meaning: 'SSE streaming is switched off' },
  high_frequency_disabled: { status: 404, meaning: 'high-frequency streams are switched off' },
  dashboards_disabled: { status: 404, meaning: 'live dashboards are switched off' },
  method_not_allowed: { status: 405, meaning: 'the path does not take this method' },
  request_timeout: {
    status: 504,
    meaning: 'a handler took longer than DATA_STREAMING_TIMEOUT (408: the request was not received in time)',
  },
  idempotency_key_in_use: { status: 409, meaning: 'a request with this Idempotency-Key is still being written; Retry-After: 1' },
  payload_too_large: { status: 413, meaning: 'a body over service.max_body_bytes' },
  unsupported_media_type: { status: 415, meaning: 'a body that is not application/json' },
  idempotency_key_reused: { status: 422, meaning: 'the Idempotency-Key was used for a different request within the window' },
  too_many_requests: { status: 429, meaning: 'a rate limit; Retry-After in seconds' },
  internal_error: { status: 500, meaning: 'a bug; no details leave the service, the log has them' },
  max_connections: { status: 503, meaning: 'the transport is at its connection limit; Retry-After: 5, details.limit' },
  shutting_down: { status: 503, meaning: 'the service is draining; Retry-After: 1' },
  overloaded: { status: 503, meaning: 'the service is behind its load: nothing was accepted; Retry-After: 1' },
  notifications_disabled: { status: 503, meaning: 'notifications are switched off' },
  history_unavailable: { status: 503, meaning: 'the channel history cannot be written or read now; Retry-After: 5' },
  outbox_unavailable: { status: 503, meaning: 'the notification outbox cannot be reached; Retry-After: 5' },
  service_unavailable: { status: 503, meaning: 'the service cannot answer now' },
  gateway_timeout: { status: 504, meaning: 'a dependency did not answer in time' },
} as const satisfies Record<string, ErrorCodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;
