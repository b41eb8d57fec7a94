/**
 * Where a subscriber is in a channel, and the points in time it may start from.
 *
 * A position is `epoch:offset`. The epoch names one lifetime of a channel's history (it changes only when the history
 * itself is lost); offsets count the channel's messages from 1 within an epoch. Position `e:n` means "I have seen
 * message n of epoch e": every event's `id` is its position, so the last id a client processed is where it resumes.
 */

export interface Position {
  epoch: string;
  offset: number;
}

const POSITION = /^([0-9a-z]{1,32}):(0|[1-9][0-9]{0,15})$/;

export class InvalidPositionError extends Error {
  constructor(readonly text: string) {
    super(`"${text.slice(0, 80)}" is not a position: expected epoch:offset, e.g. m4k2x9a1:1042`);
    this.name = 'InvalidPositionError';
  }
}

/** Parses `epoch:offset`; throws InvalidPositionError for anything else. */
export function parsePosition(text: string): Position {
  const match = POSITION.exec(text);
  const offset = match ? Number(match[2]) : NaN;
  if (!match || !Number.isSafeInteger(offset)) throw new InvalidPositionError(text);
  return { epoch: match[1] as string, offset };
}

export const formatPosition = (epoch: string, offset: number): string => `${epoch}:${offset}`;

/** RFC 3339: a date, `T` (or a space), a time with optional fractions, and a zone (`Z` or ±hh:mm). */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;
const EPOCH_MS = /^(0|[1-9]\d{0,15})$/;

export class InvalidTimeError extends Error {
  constructor(readonly text: string) {
    super(`"${text.slice(0, 80)}" is not a time: expected RFC 3339 with a zone (2026-12-02T10:00:00Z) or milliseconds since 1970`);
    this.name = 'InvalidTimeError';
  }
}

/**
 * Parses a point in time as subscriptions and history take it (`from`, `to`): an RFC 3339 date-time with its zone, or
 * milliseconds since the Unix epoch. Returns milliseconds since the epoch; throws InvalidTimeError otherwise.
 */
export function parseTime(text: string): number {
  const ms = EPOCH_MS.test(text) ? Number(text) : RFC3339.test(text) ? Date.parse(text.replace(' ', 'T')) : NaN;
  if (!Number.isSafeInteger(ms)) throw new InvalidTimeError(text);
  return ms;
}
