/**
 * The event a producer publishes (POST /events): the protocol's `{channel, type, timestamp?, key?, data}`, with
 * `channel` one of the configured WebSocket channels.
 */
import type { PublishEvent } from '@data-streaming/protocol';

export type EventInput = PublishEvent;
