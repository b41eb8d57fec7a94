/**
 * What flows on a subscription: the frames of `WS /ws/{channel}` (each a JSON text frame with a `kind`), the client's
 * one message, and the events of an SSE stream (`GET /sse/{stream}`, `GET /streams/high_frequency/{name}`,
 * `GET /dashboards/{type}/stream`), which carry the same objects.
 */
import { z } from 'zod';
import { GAP_REASONS } from './codes.js';
import { anyData, channelName, eventId, isoTime, wireEventSchema } from './events.js';

export const gapReasonSchema = z.enum(Object.keys(GAP_REASONS) as [keyof typeof GAP_REASONS, ...(keyof typeof GAP_REASONS)[]]);

/** The first frame of every subscription: where the channel stands and whether the resume was whole. */
export const welcomeFrameSchema = z.strictObject({
  kind: z.literal('welcome'),
  channel: channelName,
  epoch: z.string(),
  /** The newest id when you joined (epoch:0 for an empty channel). */
  last_id: eventId,
  /** True when the subscription asked for a position (since, Last-Event-ID) or a time (from). */
  resumed: z.boolean(),
  /** False when history no longer reached back to the position or time asked for: `reason` says why. */
  recovered: z.boolean(),
  reason: gapReasonSchema.optional(),
  /** How many events of history follow before live ones. */
  replayed: z.number().int().min(0),
  /**
   * With `from`: the time from which the replay is complete: `from` itself when history reached back to it, else the
   * acceptance time of the oldest event history still held (then `recovered` is false, `history_exceeded`).
   */
  from_reached: isoTime.optional(),
});
export type WelcomeFrame = z.infer<typeof welcomeFrameSchema>;

/** Events that piled up while the subscriber's socket was busy, in offset order. */
export const batchFrameSchema = z.strictObject({
  kind: z.literal('batch'),
  channel: channelName,
  events: z.array(wireEventSchema).min(1),
});
export type BatchFrame = z.infer<typeof batchFrameSchema>;

/** A live channel's whole state for a subscriber that starts fresh (dashboards, high-frequency streams). */
export const snapshotFrameSchema = z.strictObject({
  kind: z.literal('snapshot'),
  channel: channelName,
  /** The id the state is current at: resume after it. */
  id: eventId,
  data: anyData,
});
export type SnapshotFrame = z.infer<typeof snapshotFrameSchema>;

/**
 * On WebSocket: a client message the service does not take (the socket stays open, code 4400). On SSE: why the
 * stream is about to end, with the close code's number (4000 slow consumer, 4001 token expired, 1001, 1011).
 */
export const errorFrameSchema = z.strictObject({
  kind: z.literal('error'),
  code: z.number().int(),
  reason: z.string(),
  message: z.string(),
});
export type ErrorFrame = z.infer<typeof errorFrameSchema>;

export const pongFrameSchema = z.strictObject({ kind: z.literal('pong') });
export type PongFrame = z.infer<typeof pongFrameSchema>;

/** Every frame the service sends on a WebSocket subscription. */
export const serverFrameSchema = z.discriminatedUnion('kind', [
  welcomeFrameSchema,
  wireEventSchema,
  batchFrameSchema,
  snapshotFrameSchema,
  errorFrameSchema,
  pongFrameSchema,
]);
export type ServerFrame = z.infer<typeof serverFrameSchema>;
export type FrameKind = ServerFrame['kind'];

/** The frames that are not events: what the service sends besides the channel's own messages. */
export type ControlFrame = WelcomeFrame | SnapshotFrame | ErrorFrame;

/** The only message a client may send: an application-level ping, answered with a pong frame. */
export const clientMessageSchema = z.strictObject({ kind: z.literal('ping') });
export type ClientMessage = z.infer<typeof clientMessageSchema>;

/** The reason of a 1013 close (a browser's upgrade refused for now). */
export const tryAgainLaterReasonSchema = z.strictObject({ code: z.string(), retry_after_seconds: z.number().min(0) });
export type TryAgainLaterReason = z.infer<typeof tryAgainLaterReasonSchema>;

/** The reason of a 4400/4401/4403/4404 close (a browser's upgrade refused for good). */
export const refusedReasonSchema = z.strictObject({ code: z.string(), message: z.string() });
export type RefusedReason = z.infer<typeof refusedReasonSchema>;

/**
 * SSE: events use the default type (a browser's `onmessage`) and carry the envelope, with `id:` its id; control
 * messages are named events (`welcome`, `snapshot`, `error`) carrying the same objects as the WebSocket frames.
 */
export const SSE_EVENT_NAMES = ['message', 'welcome', 'snapshot', 'error'] as const;
export type SseEventName = (typeof SSE_EVENT_NAMES)[number];

export const sseDataSchemas = {
  message: wireEventSchema,
  welcome: welcomeFrameSchema,
  snapshot: snapshotFrameSchema,
  error: errorFrameSchema,
} as const satisfies Record<SseEventName, z.ZodType>;
