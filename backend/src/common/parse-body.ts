/**
 * The one way a request body is checked: against its schema from @data-streaming/protocol, answering every failure in
 * one 400 shape, `{error: "invalid_<what>", message: "<summary>: <field>: <problem>", details: {problems: [{index?,
 * field, message}]}}`, with every problem listed (by index in a batch), not only the first.
 */
import type { ErrorCode, Problem } from '@data-streaming/protocol';
import type { z } from 'zod';
import { ApiError } from './api-error';

/** The problems of a failed parse; in a batch (an array body) the leading index of each path becomes `index`. */
export function problemsOf(issues: readonly z.core.$ZodIssue[], batch: boolean): Problem[] {
  return issues.map((issue) => {
    const path = [...issue.path];
    const index = batch && typeof path[0] === 'number' ? (path.shift() as number) : undefined;
    return {
      ...(index === undefined ? {} : { index }),
      field: path.map(String).join('.') || (batch && index === undefined ? '(batch)' : '(body)'),
      message: issue.message,
    };
  });
}

/** The 400 for a body with these problems; `summary` says what was refused ("the event is invalid; ..."). */
export function invalidBody(code: ErrorCode, problems: readonly Problem[], summary: string): ApiError {
  const first = problems[0] as Problem;
  const where = first.index === undefined ? first.field : `[${first.index}].${first.field}`;
  return new ApiError(400, code, `${summary}: ${where}: ${first.message}`, { problems });
}

/** The body as its schema's output, or the 400 above. */
export function parseBody<S extends z.ZodType>(
  schema: S,
  body: unknown,
  code: ErrorCode,
  summary = 'the request body is invalid',
): z.output<S> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  throw invalidBody(code, problemsOf(result.error.issues, Array.isArray(body)), summary);
}
