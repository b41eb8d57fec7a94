/**
 * A message as it travels from the bus to subscribers. It is encoded once: the JSON of the wire event is built when
 * the message is created, and each transport's bytes are made at most once and shared by every subscriber.
 */
import { performance } from 'node:perf_hooks';
import { framePayload, sseEventChunk, textFrameOf } from '../common/framing';
import { formatPosition, type WireEvent } from '@data-streaming/protocol';
import type { Allocate } from '../common/allocate';
import { historyAllocator } from './history-slabs';

export interface PublishInput {
  type: string;
  /** ISO 8601; the bus stamps the current time when absent. */
  timestamp?: string;
  /** What a high-frequency stream conflates on; defaults to `type`. */
  key?: string;
  data: unknown;
}

export type { WireEvent };

export class StreamMessage {
  readonly id: string;
  /** JSON text of the WireEvent until release(); then its bytes in the WebSocket frame hold it (see payload). */
  private text: string | undefined;
  /** performance.now() when the service accepted the event: the start of the latency measurement. */
  readonly acceptedAt: number;
  /** Wall-clock time (ms since the epoch) when the service accepted the event: what history retention and the metric store go by. */
  readonly at: number;
  private parsed?: Readonly<WireEvent>;
  /** After release(), the event is parsed from the bytes when asked, and not kept. */
  private released = false;
  private wsFrame?: Buffer;
  private sseChunkBytes?: Buffer;
  /** Where the event starts in sseChunkBytes (after the chunk-size line). */
  private sseStart = 0;
  private byteCount?: number;
  /** Other encodings made for this message by the transports (compressed frames), each made once. */
  private encodings?: Map<string, unknown>;

  constructor(
    readonly channel: string,
    readonly epoch: string,
    readonly offset: number,
    event: Readonly<WireEvent> | undefined,
    payload?: string,
    acceptedAt?: number,
    at?: number,
  ) {
    this.id = formatPosition(epoch, offset);
    this.parsed = event;
    // One of the two is given: the event (built here) or its JSON text (from another instance, via Redis).
    this.text = payload ?? JSON.stringify(event);
    this.acceptedAt = acceptedAt ?? performance.now();
    this.at = at ?? Date.now();
  }

  static create(channel: string, epoch: string, offset: number, input: PublishInput, acceptedAt?: number): StreamMessage {
    const event: WireEvent = {
      kind: 'event',
      id: formatPosition(epoch, offset),
      channel,
      type: input.type,
      timestamp: input.timestamp ?? new Date().toISOString(),
      ...(input.key === undefined ? {} : { key: input.key }),
      data: input.data,
    };
    return new StreamMessage(channel, epoch, offset, event, undefined, acceptedAt);
  }

  /** JSON text of the WireEvent (after release(), decoded from the frame's bytes each time it is asked for). */
  get payload(): string {
    return this.text ?? this.websocketBytes.toString('utf8');
  }

  /** The event as an object; parsed on first use when the message arrived as text. */
  get event(): Readonly<WireEvent> {
    if (this.parsed) return this.parsed;
    const event = JSON.parse(this.payload) as WireEvent;
    if (!this.released) this.parsed = event;
    return event;
  }

  /**
   * Lets go of the event object and the JSON text once the listeners have read them: a message kept in history then
   * holds its bytes only (its WebSocket frame, the JSON a view into it, and whatever other encodings the transports
   * made), in its channel's slabs outside the JavaScript heap. Not a second copy of the data as objects, nor the
   * objects the data shares with others, nor the text beside the same bytes.
   */
  release(): this {
    this.wsFrame ??= textFrameOf(this.payload, this.allocate);
    this.byteCount ??= this.websocketBytes.length;
    this.parsed = undefined;
    this.text = undefined;
    this.released = true;
    return this;
  }

  // Each transport's bytes are one allocation per message, the framed form; the bare bytes are views into it, so a
  // message held in history keeps one copy per transport, not two.

  /** The bytes of one WebSocket text frame's payload (a view into websocketFrame). */
  get websocketBytes(): Buffer {
    return framePayload(this.websocketFrame);
  }

  /** The complete WebSocket frame of the payload, for sockets without extensions. */
  get websocketFrame(): Buffer {
    return (this.wsFrame ??= textFrameOf(this.payload, this.allocate));
  }

  /** The bytes of one complete SSE event (a view into sseChunk). */
  get sseEventBytes(): Buffer {
    const chunk = this.sseChunk;
    return chunk.subarray(this.sseStart, chunk.length - 2);
  }

  /** The SSE event as one HTTP/1.1 chunk (size line, event, CRLF), for responses written straight to the socket. */
  get sseChunk(): Buffer {
    if (!this.sseChunkBytes) {
      // The event's JSON bytes copied from the frame.
      const { chunk, start } = sseEventChunk(this.id, this.websocketBytes, this.allocate);
      this.sseStart = start;
      this.sseChunkBytes = chunk;
    }
    return this.sseChunkBytes;
  }

  /**
   * Memory for bytes kept with this message (its encodings): from its channel's slabs, so that they leave with the
   * channel's history instead of pinning shared pool memory (bus/history-slabs.ts).
   */
  get allocate(): Allocate {
    return historyAllocator(this.channel);
  }

  /** An encoding of the message by `name`, made by `make` the first time it is asked for. */
  encoding(name: string, make: () => unknown): unknown {
    this.encodings ??= new Map();
    let value = this.encodings.get(name);
    if (value === undefined) {
      value = make();
      this.encodings.set(name, value);
    }
    return value;
  }

  get byteLength(): number {
    return (this.byteCount ??= Buffer.byteLength(this.payload));
  }
}
