/**
 * Validates published events and puts them on the bus. A request is accepted whole or refused whole: a batch with
 * one bad event is refused with every problem listed by index, and nothing of it is published. With an
 * `Idempotency-Key` a request is published once within `service.idempotency_window`: a retry is answered with the
 * same ids (and `Idempotent-Replayed: true`), whether the first answer was lost or not.
 */
import { publishBatchSchemaFor, publishEventSchemaFor } from '@data-streaming/protocol';
import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Principal } from '../auth/principal';
import { HistoryUnavailableError } from '../bus/bus.port';
import { PublisherService, type EventSource } from '../bus/publisher.service';
import { IdempotencyConflictError, scopedKey, type Idempotency, type PublishGroup } from '../bus/receipts';
import type { PublishInput } from '../bus/stream-message';
import { ApiError } from '../common/api-error';
import { invalidBody, problemsOf } from '../common/parse-body';
import { InjectConfig } from '../config/config.module';
import type { AppConfig } from '../config/config.schema';
import { LoadMonitor } from '../metrics/load-monitor';
import { StreamingMetrics } from '../metrics/streaming.metrics';
import type { EventInput } from './event.schema';

export interface AcceptResult {
  accepted: number;
  ids: string[];
}

/** An answer to POST /events: the body, and whether it repeats an earlier publish (Idempotent-Replayed). */
export interface PublishAnswer {
  result: AcceptResult;
  replayed: boolean;
}

/** Seconds a client should wait before publishing again while the history cannot be written. */
const HISTORY_RETRY_AFTER_SECONDS = 5;
/** An Idempotency-Key: a bare token (as most clients send it) or an RFC 8941 string; printable ASCII, at most 255. */
const IDEMPOTENCY_KEY = /^(?:"([\x20\x21\x23-\x5b\x5d-\x7e]{1,255})"|([\x21\x23-\x7e]{1,255}))$/;

/** The request's Idempotency-Key header, undefined when absent; a malformed one is refused (400). */
export function idempotencyKeyOf(headers: IncomingHttpHeaders): string | undefined {
  const header = headers['idempotency-key'];
  if (header === undefined) return undefined;
  const match = typeof header === 'string' ? IDEMPOTENCY_KEY.exec(header.trim()) : null;
  const key = match?.[1] ?? match?.[2];
  if (key === undefined) {
    throw new ApiError(400, 'invalid_idempotency_key', 'Idempotency-Key must be 1 to 255 printable ASCII characters, sent once');
  }
  return key;
}

/** True when `value` nests arrays/objects deeper than `limit`; iterative, so no input can overflow the stack. */
export function deeperThan(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (typeof node !== 'object' || node === null) continue;
    if (depth + 1 > limit) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) stack.push([child, depth + 1]);
  }
  return false;
}

@Injectable()
export class IngestService {
  private readonly eventSchema;
  private readonly batchSchema;
  private readonly maxDepth: number;

  constructor(
    @InjectConfig() config: AppConfig,
    private readonly publisher: PublisherService,
    private readonly metrics: StreamingMetrics,
    private readonly load: LoadMonitor,
  ) {
    this.eventSchema = publishEventSchemaFor(config.websocket.channels);
    this.batchSchema = publishBatchSchemaFor(config.websocket.channels, config.service.max_batch_events);
    this.maxDepth = config.service.max_json_depth;
  }

  /** Validates a request body (one event or an array) and publishes it in order, once per idempotency key. */
  async acceptBody(body: unknown, request: { principal: Principal; idempotencyKey?: string }): Promise<PublishAnswer> {
    // Behind its load, the service pushes back on publishers instead of closing subscribers that keep up.
    if (this.load.overloaded) {
      this.metrics.ingestRejected.labels('overloaded').inc(Array.isArray(body) ? body.length : 1);
      const seconds = this.load.retryAfterSeconds;
      throw ApiError.unavailable(
        'overloaded',
        `the service is behind its load; nothing of this request was accepted: retry after ${seconds} s`,
        seconds,
        { retry_after_seconds: seconds },
      );
    }
    if (deeperThan(body, this.maxDepth)) {
      this.metrics.ingestRejected.labels('invalid').inc();
      throw new ApiError(
        400,
        'too_deep',
        `request body nests arrays and objects deeper than ${this.maxDepth} levels (service.max_json_depth)`,
      );
    }
    const batch = Array.isArray(body);
    const result = batch ? this.batchSchema.safeParse(body) : this.eventSchema.safeParse(body);
    if (!result.success) {
      const problems = problemsOf(result.error.issues, batch);
      this.metrics.ingestRejected.labels('invalid').inc(batch ? body.length : 1);
      const summary = batch
        ? problems.every((problem) => problem.index === undefined)
          ? 'the batch is invalid; none was accepted'
          : `${new Set(problems.map((problem) => problem.index)).size} of ${body.length} events are invalid; none was accepted`
        : 'the event is invalid; it was not accepted';
      throw invalidBody('invalid_event', problems, summary);
    }
    const events: EventInput[] = Array.isArray(result.data) ? result.data : [result.data];
    const idempotency: Idempotency | undefined =
      request.idempotencyKey === undefined
        ? undefined
        : {
            key: scopedKey(request.principal.id, request.idempotencyKey),
            fingerprint: createHash('sha256').update(JSON.stringify(body)).digest('base64url'),
          };
    return this.publish(events, 'http', idempotency);
  }

  /** Publishes already-valid events, grouped per channel, keeping each channel's order. */
  async accept(events: readonly EventInput[], source: EventSource): Promise<AcceptResult> {
    return (await this.publish(events, source)).result;
  }

  private async publish(events: readonly EventInput[], source: EventSource, idempotency?: Idempotency): Promise<PublishAnswer> {
    const byChannel = new Map<string, { indexes: number[]; inputs: PublishInput[] }>();
    events.forEach((event, index) => {
      let group = byChannel.get(event.channel);
      if (!group) {
        group = { indexes: [], inputs: [] };
        byChannel.set(event.channel, group);
      }
      group.indexes.push(index);
      group.inputs.push({
        type: event.type,
        data: event.data,
        ...(event.timestamp === undefined ? {} : { timestamp: event.timestamp }),
        ...(event.key === undefined ? {} : { key: event.key }),
      });
    });
    const groups: PublishGroup[] = [...byChannel].map(([channel, group]) => ({ channel, events: group.inputs }));
    let receipt;
    try {
      receipt = await this.publisher.publishRequest(groups, source, idempotency);
    } catch (error) {
      throw this.refusal(error);
    }
    const ids = new Array<string>(events.length);
    [...byChannel.values()].forEach((group, index) => {
      receipt.ids[index]?.forEach((id, position) => (ids[group.indexes[position] as number] = id));
    });
    return { result: { accepted: events.length, ids }, replayed: receipt.replayed };
  }

  /** What a failed publish tells the client: retry later (503, 409), or a key reused for something else (422). */
  private refusal(error: unknown): unknown {
    if (error instanceof HistoryUnavailableError) {
      this.metrics.ingestRejected.labels('history_unavailable').inc();
      return ApiError.unavailable(
        'history_unavailable',
        'the channel history cannot be written now; nothing of this request was accepted: try again later',
        HISTORY_RETRY_AFTER_SECONDS,
        { reason: error.reason },
      );
    }
    if (error instanceof IdempotencyConflictError) {
      this.metrics.ingestRejected.labels('idempotency_conflict').inc();
      return error.reason === 'in_progress'
        ? new ApiError(409, 'idempotency_key_in_use', error.message, undefined, { 'Retry-After': '1' })
        : new ApiError(422, 'idempotency_key_reused', error.message);
    }
    return error;
  }
}
