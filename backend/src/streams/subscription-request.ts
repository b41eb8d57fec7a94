/**
 * Turns what a client asked for into a checked request, or an ApiError naming the bad parameter: a subscription (a
 * channel name, a resume position or a start time) and a page of history (a time range, an order, a cursor).
 */
import { z } from 'zod';
import type { Bus, HistoryQuery } from '../bus/bus.port';
import {
  InvalidPositionError,
  InvalidTimeError,
  eventId,
  formatPosition,
  parsePosition,
  parseTime,
  type Position,
} from '@data-streaming/protocol';
import { ApiError } from '../common/api-error';

export function unknownChannel(kind: string, name: string, known: readonly string[]): ApiError {
  return ApiError.notFound('unknown_channel', `unknown ${kind} "${name.slice(0, 80)}"`, { known });
}

/** Parses a resume position for `channel`; undefined when none was given. */
export function resumePosition(bus: Bus, channel: string, text: string | undefined, field: string): Position | undefined {
  if (text === undefined || text === '') return undefined;
  let position: Position;
  try {
    position = parsePosition(text);
  } catch (error) {
    if (error instanceof InvalidPositionError) throw ApiError.badRequest(`${field}: ${error.message}`);
    throw error;
  }
  const state = bus.state(channel);
  if (position.epoch === state.epoch && position.offset > state.lastOffset) {
    throw new ApiError(
      400,
      'position_ahead',
      `${field}: ${text} is beyond the newest message of ${channel} (${state.epoch}:${state.lastOffset})`,
    );
  }
  return position;
}

/** Parses a point in time (RFC 3339 or ms since 1970); undefined when none was given. */
export function timeParameter(text: string | undefined, field: string): number | undefined {
  if (text === undefined || text === '') return undefined;
  try {
    return parseTime(text);
  } catch (error) {
    if (error instanceof InvalidTimeError) throw ApiError.badRequest(`${field}: ${error.message}`);
    throw error;
  }
}

/** Parses `from`: a time that is not in the future (nothing has been accepted after now). */
export function fromTime(text: string | undefined, now = Date.now()): number | undefined {
  const from = timeParameter(text, 'from');
  if (from !== undefined && from > now) {
    throw new ApiError(400, 'time_ahead', `from: ${text} is in the future (the service's time is ${new Date(now).toISOString()})`);
  }
  return from;
}

/** Where a subscription starts: after a position (`since`, Last-Event-ID), at a time (`from`), or live (neither). */
export interface StartPoint {
  since?: Position;
  /** Acceptance time, ms since 1970. */
  from?: number;
}

/**
 * Checks where a subscription asks to start. `since` and `from` exclude each other. Last-Event-ID wins over `from`:
 * a browser's EventSource reconnects to the URL it began with (`?from=` included) and says where it got to.
 */
export function startPoint(bus: Bus, channel: string, asked: { since?: string; from?: string; lastEventId?: string }): StartPoint {
  if (asked.since && asked.from) throw ApiError.badRequest('since and from: give one of them, not both');
  if (asked.lastEventId) return optional('since', resumePosition(bus, channel, asked.lastEventId, 'Last-Event-ID'));
  if (asked.since) return optional('since', resumePosition(bus, channel, asked.since, 'since'));
  return optional('from', fromTime(asked.from));
}

const optional = <K extends keyof StartPoint>(key: K, value: StartPoint[K]): StartPoint => (value === undefined ? {} : { [key]: value });

/** One query parameter as text; undefined when absent, 400 when repeated or nested (`?a=1&a=2`, `?a[b]=1`). */
export function queryText(query: Record<string, unknown>, name: string): string | undefined {
  const value = query[name];
  if (value === undefined || typeof value === 'string') return value;
  throw ApiError.badRequest(`${name}: give it once, as plain text`);
}

export const HISTORY_MAX_LIMIT = 1000;
const HISTORY_DEFAULT_LIMIT = 100;

/** What a history cursor carries: the last message of the page and the range it belongs to. */
const cursorSchema = z.strictObject({
  after: eventId,
  order: z.enum(['asc', 'desc']),
  from: z.number().int().nullable(),
  to: z.number().int(),
});
type Cursor = z.infer<typeof cursorSchema>;

const iso = (ms: number | null | undefined): string => (ms === null || ms === undefined ? 'none' : new Date(ms).toISOString());

/** The next page's cursor: opaque to clients (base64url of JSON), so that its content may change. */
export function historyCursor(request: HistoryQuery, last: Position): string {
  const cursor: Cursor = {
    after: formatPosition(last.epoch, last.offset),
    order: request.order,
    from: request.from ?? null,
    to: request.to,
  };
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

function readCursor(text: string): Cursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const cursor = cursorSchema.safeParse(parsed);
  if (!cursor.success) throw ApiError.badRequest('cursor: not a cursor of this endpoint; pass next_cursor of the previous page as it is');
  return cursor.data;
}

/**
 * Checks the query of GET /streams/{channel}/history: `from` (not in the future) and `to` as times with `from` <= `to`,
 * `limit` 1..1000, `order` asc or desc, and `cursor`. A cursor carries its range and order: parameters given with it
 * must agree with it.
 */
export function historyRequest(query: Record<string, unknown>, now = Date.now()): HistoryQuery {
  const cursorText = queryText(query, 'cursor');
  const cursor = cursorText === undefined || cursorText === '' ? undefined : readCursor(cursorText);
  const from = fromTime(queryText(query, 'from'), now);
  const to = timeParameter(queryText(query, 'to'), 'to');
  const orderText = queryText(query, 'order');
  if (orderText !== undefined && orderText !== 'asc' && orderText !== 'desc') {
    throw ApiError.badRequest(`order: expected asc (oldest first) or desc (newest first), not "${orderText.slice(0, 20)}"`);
  }
  const limitText = queryText(query, 'limit');
  const limit = limitText === undefined ? HISTORY_DEFAULT_LIMIT : /^\d{1,5}$/.test(limitText) ? Number(limitText) : NaN;
  if (!(limit >= 1 && limit <= HISTORY_MAX_LIMIT)) {
    throw ApiError.badRequest(`limit: expected a whole number from 1 to ${HISTORY_MAX_LIMIT}, not "${(limitText ?? '').slice(0, 20)}"`);
  }
  if (cursor) {
    // Repeating the first page's parameters with the cursor is fine; changing them is a different query.
    const differs = (name: string, given: string | undefined, carried: string): void => {
      if (given !== undefined && given !== carried) {
        throw ApiError.badRequest(`cursor: it continues ${name}=${carried}, not ${given}; drop ${name} or the cursor`);
      }
    };
    differs('order', orderText, cursor.order);
    differs('from', from === undefined ? undefined : iso(from), iso(cursor.from));
    differs('to', to === undefined ? undefined : iso(to), iso(cursor.to));
    return {
      ...(cursor.from === null ? {} : { from: cursor.from }),
      to: cursor.to,
      limit,
      order: cursor.order,
      after: parsePosition(cursor.after),
    };
  }
  const end = to ?? now;
  if (from !== undefined && end < from) {
    throw ApiError.badRequest(`to: ${new Date(end).toISOString()} is before from (${new Date(from).toISOString()})`);
  }
  return { ...(from === undefined ? {} : { from }), to: end, limit, order: orderText ?? 'asc' };
}
