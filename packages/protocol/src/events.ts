/**
 * Events: what a producer publishes (POST /events) and the envelope every subscriber receives, on every transport.
 */
import { z } from 'zod';

/** Names of channels, streams and dashboards: lower-case letters, digits, `_` and `.`. */
export const channelName = z.string().regex(/^[a-z][a-z0-9_.]{0,127}$/, 'a channel name: a-z, 0-9, _ and .');

/** An `epoch:offset` position (see position.ts). */
export const eventId = z.string().regex(/^[0-9a-z]{1,32}:(0|[1-9][0-9]{0,15})$/, 'an id: epoch:offset');

/**
 * Any value, present: the data of outbound messages (always JSON on the wire; typed `unknown` so that producers of
 * any object type can put theirs in).
 */
export const anyData = z.unknown().refine((value): boolean => value !== undefined, 'required');

/** Any JSON value: what a producer may publish as `data`. One instance, so that documents name it once (JsonValue). */
export const jsonValue = z.json({ error: 'expected a JSON value' });

export const isoTime = z.iso.datetime({ offset: true, error: 'expected an ISO 8601 date-time with a time zone' });

export const eventType = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_.:/-]+$/, 'letters, digits and _ . : / - only');

/**
 * One published event. The service checks `channel` against its configured channels (publishEventSchemaFor); this
 * schema is the shape every producer can rely on.
 */
export const publishEventSchema = z.strictObject({
  channel: channelName,
  type: eventType,
  timestamp: isoTime.optional(),
  /** What high-frequency streams conflate on (defaults to `type`). */
  key: z.string().min(1).max(256).optional(),
  data: jsonValue,
});
export type PublishEvent = z.infer<typeof publishEventSchema>;

/** The same event, with `channel` one of `channels`. */
export function publishEventSchemaFor(channels: readonly string[]) {
  return publishEventSchema.extend({
    channel: z.enum(channels as [string, ...string[]], { error: `expected one of: ${channels.join(', ')}` }),
  });
}

/** A batch of POST /events: a non-empty array of at most `maxBatch` events. */
export function publishBatchSchemaFor(channels: readonly string[], maxBatch: number) {
  return z.array(publishEventSchemaFor(channels)).min(1, 'the batch is empty').max(maxBatch, `at most ${maxBatch} events per request`);
}

/** A request of POST /events: one event or a batch. */
export function publishBodySchemaFor(channels: readonly string[], maxBatch: number) {
  return z.union([publishEventSchemaFor(channels), publishBatchSchemaFor(channels, maxBatch)]);
}

/** 202 of POST /events: the ids in request order. */
export const publishResponseSchema = z.strictObject({
  accepted: z.number().int().min(1),
  ids: z.array(eventId),
});
export type PublishResponse = z.infer<typeof publishResponseSchema>;

/** The event envelope on the wire: every delivered event, on WebSocket and SSE alike. */
export const wireEventSchema = z.strictObject({
  kind: z.literal('event'),
  /** The event's position: resume after it with ?since=<id> or Last-Event-ID. */
  id: eventId,
  channel: channelName,
  type: eventType,
  timestamp: isoTime,
  key: z.string().min(1).max(256).optional(),
  data: anyData,
  /** Set on a message that stands for this many (a lagging subscriber's backlog on a channel that conflates). */
  conflated: z.number().int().min(2).optional(),
});
export type WireEvent = z.infer<typeof wireEventSchema>;

/** GET /streams: the WebSocket channels. */
export const streamsListSchema = z.strictObject({ streams: z.array(channelName) });
export type StreamsList = z.infer<typeof streamsListSchema>;

/**
 * GET /streams/{channel}/history: the events accepted in [from, to] (the service's acceptance time, not the
 * producer's `timestamp`), oldest first (`asc`) or newest first (`desc`), at most `limit` (1..1000) per page.
 */
export const historyPageSchema = z.strictObject({
  channel: channelName,
  /** The lifetime of the history the ids belong to (see position.ts). */
  epoch: z.string(),
  order: z.enum(['asc', 'desc']),
  /** The range asked for, as ISO 8601; `from` null: from the oldest held; `to` is the time of the first page when not given. */
  from: isoTime.nullable(),
  to: isoTime,
  /**
   * Whether history still holds every event of the range: none accepted at or after `from` (and, oldest first, none
   * after the cursor) has left it. False: the range as answered starts later, at `oldest`.
   */
  from_reached: z.boolean(),
  /** The oldest event history holds, with its acceptance time; null when it is empty. */
  oldest: z.strictObject({ id: eventId, accepted_at: isoTime }).nullable(),
  /** The page, in `order`. */
  events: z.array(wireEventSchema).max(1000),
  /** Pass as `cursor` for the next page (it carries from, to and order); null when the range is exhausted. */
  next_cursor: z.string().min(1).nullable(),
});
export type HistoryPage = z.infer<typeof historyPageSchema>;
