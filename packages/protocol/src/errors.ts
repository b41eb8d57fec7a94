/** The one JSON error body of every HTTP error and every refused upgrade, and how a bad body is explained. */
import { z } from 'zod';

/** One thing wrong with a request body: where (`index` in a batch, the field's path) and what. */
export const problemSchema = z.strictObject({
  index: z.number().int().min(0).optional(),
  field: z.string(),
  message: z.string(),
});
export type Problem = z.infer<typeof problemSchema>;

/** `{error, message, details?}`: `error` is a code of ERROR_CODES (codes.ts), `message` says it for people. */
export const errorBodySchema = z.strictObject({
  error: z.string().regex(/^[a-z][a-z0-9_]*$/),
  message: z.string(),
  details: z.unknown().optional(),
});
export type ErrorBody = z.infer<typeof errorBodySchema>;

/** The details of a body that breaks its schema (400 invalid_*): every problem, not just the first. */
export const invalidBodyDetailsSchema = z.looseObject({ problems: z.array(problemSchema).min(1) });
export type InvalidBodyDetails = z.infer<typeof invalidBodyDetailsSchema>;
