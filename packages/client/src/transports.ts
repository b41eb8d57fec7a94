/**
 * The two ways to the service: a WebSocket (`/ws/{channel}`) and an SSE stream read with fetch (`/sse/{channel}`).
 * Each turns what the service sends into frames and tells how the connection ended: a refusal that a retry will not
 * cure (4xx on the upgrade or the request, or the close code a browser gets for one), a "try again later" with its
 * delay, an expired token, or a plain loss.
 */
import { CLOSE, SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX } from '@data-streaming/protocol/codes';
import { ClientError } from './errors.js';
import { SseParser } from './sse-parser.js';

/** The part of the WebSocket API used here: the browser's, which `ws` offers in Node too. */
export interface SocketLike {
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  readonly readyState: number;
  close(code?: number, reason?: string): void;
}

export type SocketFactory = (url: string, protocols: string[]) => SocketLike;

export type FetchLike = (url: string, init: { headers: Record<string, string>; signal: AbortSignal }) => Promise<Response>;

/** How a connection ended, and what to do next. */
export type Ending =
  /** Lost or closed: reconnect with backoff (`retryAfterMs`: not sooner than this). */
  | { kind: 'retry'; retryAfterMs?: number }
  /** The subscriber token expired: get a new one and reconnect at once. */
  | { kind: 'token_expired' }
  /** The resume position was refused (1008): reconnect from now, and tell subscribers of the gap. */
  | { kind: 'position_refused' }
  /** Refused for good: report, do not retry. */
  | { kind: 'refused'; error: ClientError };

export interface TransportHandlers {
  frame(frame: unknown): void;
  malformed(): void;
  end(ending: Ending): void;
}

export interface Target {
  /** The service's base URL (http or https), with any path prefix (a proxy's). */
  base: string;
  /** The path under the base: `/ws/metrics_updates`, `/sse/real_time_metrics`, `/dashboards/system_health/stream`. */
  path: string;
  query: URLSearchParams;
  token: string | undefined;
}

export interface Connection {
  close(): void;
}

const OPEN = 1;

function withQuery(url: string, query: URLSearchParams): string {
  const text = query.toString();
  return text === '' ? url : `${url}${url.includes('?') ? '&' : '?'}${text}`;
}

/** The ending a refusal with this HTTP status (and error body) calls for. */
export function endingOfStatus(
  status: number,
  body: { error?: unknown; message?: unknown } | undefined,
  retryAfter?: string | null,
): Ending {
  if (status === 429 || status >= 500) {
    const seconds = Number(retryAfter);
    return { kind: 'retry', ...(Number.isFinite(seconds) && seconds >= 0 ? { retryAfterMs: seconds * 1000 } : {}) };
  }
  const code = typeof body?.error === 'string' ? body.error : `http_${status}`;
  const message = typeof body?.message === 'string' ? body.message : `the service refused with HTTP ${status}`;
  return { kind: 'refused', error: new ClientError(code, message, status) };
}

function parseReason(reason: string): { code?: unknown; message?: unknown; retry_after_seconds?: unknown } {
  try {
    const parsed: unknown = JSON.parse(reason);
    return typeof parsed === 'object' && parsed !== null ? parsed : {};
  } catch {
    return {};
  }
}

/** The ending a WebSocket close code (or the same code of an SSE error event) calls for. */
export function endingOfClose(code: number, reason: string): Ending {
  switch (code) {
    case CLOSE.TRY_AGAIN_LATER: {
      const seconds = parseReason(reason).retry_after_seconds;
      return { kind: 'retry', retryAfterMs: typeof seconds === 'number' && seconds >= 0 ? seconds * 1000 : 1000 };
    }
    case CLOSE.TOKEN_EXPIRED:
      return { kind: 'token_expired' };
    case CLOSE.POLICY_VIOLATION:
      return { kind: 'position_refused' };
    case CLOSE.BAD_REQUEST:
    case CLOSE.UNAUTHORIZED:
    case CLOSE.FORBIDDEN:
    case CLOSE.NOT_FOUND: {
      const parsed = parseReason(reason);
      const status = code - 4000;
      return endingOfStatus(status, { error: parsed.code, message: parsed.message ?? reason });
    }
    case CLOSE.UNSUPPORTED_DATA:
    case CLOSE.INVALID_PAYLOAD:
    case CLOSE.MESSAGE_TOO_BIG:
      return { kind: 'refused', error: new ClientError('closed', `the service closed the connection (${code}): ${reason}`) };
    default:
      return { kind: 'retry' };
  }
}

function parseFrame(text: string, handlers: TransportHandlers): void {
  let frame: unknown;
  try {
    frame = JSON.parse(text);
  } catch {
    handlers.malformed();
    return;
  }
  handlers.frame(frame);
}

/** `ws` in Node reports a refused upgrade as an error "Unexpected server response: 404" (browsers get a close code). */
const UNEXPECTED_RESPONSE = /Unexpected server response: (\d{3})/;

/** The part of an HTTP response (Node's IncomingMessage) read from a refused upgrade. */
interface RefusalResponse {
  statusCode?: number;
  headers: Record<string, string | string[] | undefined>;
  on(event: 'data', listener: (chunk: unknown) => void): unknown;
  on(event: 'end' | 'error', listener: () => void): unknown;
}

/** A `ws` socket: it hands a refused upgrade's response to an 'unexpected-response' listener, if there is one. */
interface NodeSocket {
  on(event: 'unexpected-response', listener: (request: unknown, response: RefusalResponse) => void): unknown;
  terminate(): void;
}

const isNodeSocket = (socket: object): socket is NodeSocket =>
  typeof (socket as Partial<NodeSocket>).on === 'function' && typeof (socket as Partial<NodeSocket>).terminate === 'function';

/** Error bodies are small; a refusal's body past this is not read further. */
const MAX_REFUSAL_BODY = 8192;

/**
 * Reads a refused upgrade's status, Retry-After and JSON error body from `ws` (which would otherwise report the
 * status alone, in an error message), so that Node clients wait as long as the service asks and report its error
 * code, as browsers do from the close code the service sends them.
 */
function readRefusals(socket: NodeSocket, end: (ending: Ending) => void): void {
  socket.on('unexpected-response', (_request, response) => {
    let text = '';
    const finish = (): void => {
      let body: { error?: unknown; message?: unknown } | undefined;
      try {
        body = JSON.parse(text) as typeof body;
      } catch {
        body = undefined;
      }
      const retryAfter = response.headers['retry-after'];
      end(endingOfStatus(response.statusCode ?? 0, body, Array.isArray(retryAfter) ? retryAfter[0] : retryAfter));
      socket.terminate();
    };
    response.on('data', (chunk) => {
      if (text.length < MAX_REFUSAL_BODY) text += String(chunk);
    });
    response.on('end', finish);
    response.on('error', finish);
  });
}

/** What a subprotocol may hold (RFC 6455: an RFC 7230 token): JWTs and most keys; anything else goes as ?token=. */
const TOKEN_CHARS = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export function openWebSocket(target: Target, createSocket: SocketFactory, handlers: TransportHandlers): Connection {
  // A browser cannot set headers on a WebSocket: the credential travels as a subprotocol, never in the URL if it can.
  const inProtocol = target.token !== undefined && TOKEN_CHARS.test(target.token);
  const query = new URLSearchParams(target.query);
  if (target.token !== undefined && !inProtocol) query.set('token', target.token);
  const url = withQuery(`${target.base.replace(/^http/, 'ws')}${target.path}`, query);
  const protocols = inProtocol ? [SUBPROTOCOL, `${TOKEN_SUBPROTOCOL_PREFIX}${target.token}`] : [SUBPROTOCOL];
  const socket = createSocket(url, protocols);
  let ended = false;
  const end = (ending: Ending): void => {
    if (ended) return;
    ended = true;
    handlers.end(ending);
  };
  if (isNodeSocket(socket)) readRefusals(socket, end);
  socket.onmessage = (message) => parseFrame(typeof message.data === 'string' ? message.data : String(message.data), handlers);
  socket.onerror = (event) => {
    const text = (event as { message?: unknown } | null)?.message;
    const status = typeof text === 'string' ? UNEXPECTED_RESPONSE.exec(text)?.[1] : undefined;
    if (status !== undefined) end(endingOfStatus(Number(status), undefined));
  };
  socket.onclose = (event) => end(endingOfClose(event.code, event.reason));
  return {
    close: () => {
      ended = true;
      socket.onmessage = null;
      socket.onclose = null;
      socket.onerror = null;
      if (socket.readyState <= OPEN) socket.close(CLOSE.NORMAL, 'unsubscribed');
    },
  };
}

export function openEventStream(target: Target, fetchImpl: FetchLike, handlers: TransportHandlers): Connection {
  const controller = new AbortController();
  let ended = false;
  const end = (ending: Ending): void => {
    if (ended) return;
    ended = true;
    handlers.end(ending);
  };
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  if (target.token !== undefined) headers.authorization = `Bearer ${target.token}`;
  const read = async (): Promise<void> => {
    const response = await fetchImpl(withQuery(`${target.base}${target.path}`, target.query), { headers, signal: controller.signal });
    if (response.status !== 200 || !response.body) {
      const body = (await response.json().catch(() => undefined)) as { error?: unknown; message?: unknown } | undefined;
      end(endingOfStatus(response.status, body, response.headers.get('retry-after')));
      return;
    }
    const parser = new SseParser();
    const decoder = new TextDecoder();
    const reader = response.body.getReader();
    let closing: Ending | undefined;
    for (;;) {
      const { done, value } = await reader.read();
      if (done || ended) break;
      for (const message of parser.push(decoder.decode(value, { stream: true }))) {
        // The service ends a stream with an error event naming the close code; the stream's end follows.
        if (message.event === 'error') {
          const frame = parseReason(message.data) as { code?: unknown; reason?: unknown };
          closing = endingOfClose(typeof frame.code === 'number' ? frame.code : 0, JSON.stringify({ code: frame.reason }));
        }
        parseFrame(message.data, handlers);
      }
    }
    end(closing ?? { kind: 'retry' });
  };
  read().catch(() => end({ kind: 'retry' }));
  return {
    close: () => {
      ended = true;
      controller.abort();
    },
  };
}
