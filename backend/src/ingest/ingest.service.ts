/**
 * Validates published events and puts them on the bus. A request is accepted whole or refused whole: a batch with
 * one bad event is refused with every problem listed by index, and nothing of it is published.
 */
import { Injectable } from '@nestjs/common';
import type { z } from 'zod';
import { PublisherService, type EventSource } from '../bus/publisher.service';
import type { PublishInput } from '../bus/stream-message';
import { ApiError } from '../common/api-error';
import { InjectConfig } from '../config/config.module';
import type { AppConfig } from '../config/config.schema';
import { StreamingMetrics } from '../metrics/streaming.metrics';
import { eventBatchSchema, eventSchema, type EventInput } from './event.schema';

export interface AcceptResult {
  accepted: number;
  ids: string[];
}

export interface EventProblem {
  index?: number;
  field: string;
  message: string;
}

function describeIssues(issues: readonly z.core.$ZodIssue[], batch: boolean): EventProblem[] {
  return issues.map((issue) => {
    const path = [...issue.path];
    const index = batch && typeof path[0] === 'number' ? (path.shift() as number) : undefined;
    return {
      ...(index === undefined ? {} : { index }),
      field: path.join('.') || (batch && index === undefined ? '(batch)' : '(event)'),
      message: issue.message,
    };
  });
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
  ) {
    this.eventSchema = eventSchema(config.websocket.channels);
    this.batchSchema = eventBatchSchema(config.websocket.channels, config.service.max_batch_events);
    this.maxDepth = config.service.max_json_depth;
  }

  /** Validates a request body (one event or an array) and publishes it in order. */
  async acceptBody(body: unknown): Promise<AcceptResult> {
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
      const problems = describeIssues(result.error.issues, batch);
      this.metrics.ingestRejected.labels('invalid').inc(batch ? body.length : 1);
      const where = (problem: EventProblem) => (problem.index === undefined ? problem.field : `[${problem.index}].${problem.field}`);
      const first = problems[0] as EventProblem;
      const summary = batch
        ? problems.every((problem) => problem.index === undefined)
          ? 'the batch is invalid; none was accepted'
          : `${new Set(problems.map((problem) => problem.index)).size} of ${body.length} events are invalid; none was accepted`
        : 'the event is invalid; it was not accepted';
      throw new ApiError(400, 'invalid_event', `${summary}: ${where(first)}: ${first.message}`, { problems });
    }
    const events: EventInput[] = Array.isArray(result.data) ? result.data : [result.data];
    return this.accept(events, 'http');
  }

  /** Publishes already-valid events, grouped per channel, keeping each channel's order. */
  async accept(events: readonly EventInput[], source: EventSource): Promise<AcceptResult> {
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
    const ids = new Array<string>(events.length);
    for (const [channel, group] of byChannel) {
      const messages = await this.publisher.publish(channel, group.inputs, source);
      messages.forEach((message, position) => (ids[group.indexes[position] as number] = message.id));
    }
    return { accepted: events.length, ids };
  }
}
