/**
 * The event a producer publishes (POST /events): SPEC's `{channel, type, timestamp?, data}` plus an optional `key`
 * for conflation. One schema gives the validation, the TypeScript type and the OpenAPI body.
 */
import { z } from 'zod';

export function eventSchema(channels: readonly string[]) {
  return z.strictObject({
    channel: z.enum(channels as [string, ...string[]], { error: `expected one of: ${channels.join(', ')}` }),
    type: z
      .string()
      .min(1)
      .max(128)
      .regex(/^[A-Za-z0-9_.:/-]+$/, 'letters, digits and _ . : / - only'),
    timestamp: z.iso.datetime({ offset: true, error: 'expected an ISO 8601 date-time with a time zone' }).optional(),
    key: z.string().min(1).max(256).optional(),
    data: z.json({ error: 'expected a JSON value' }),
  });
}

export type EventInput = z.infer<ReturnType<typeof eventSchema>>;

export function eventBatchSchema(channels: readonly string[], maxBatch: number) {
  return z.array(eventSchema(channels)).min(1, 'the batch is empty').max(maxBatch, `at most ${maxBatch} events per request`);
}
