/** Turns what a client asked for (a channel name, a resume position) into a checked subscription, or an ApiError. */
import type { Bus } from '../bus/bus.port';
import { InvalidPositionError, parsePosition, type Position } from '../bus/position';
import { ApiError } from '../common/api-error';

export function unknownChannel(kind: string, name: string, known: readonly string[]): ApiError {
  return ApiError.notFound('unknown_channel', `unknown ${kind} "${name.slice(0, 80)}"`, { known });
}

/** Parses a resume position for `channel`; undefined when none was given. */
export function resumePosition(bus: Bus, channel: string, text: string | undefined, field: string): Position | undefined {
  if (text === undefined || text === '') return undefined;
  let position: Position;
  try {
    position = parsePosition(text);
  } catch (error) {
    if (error instanceof InvalidPositionError) throw ApiError.badRequest(`${field}: ${error.message}`);
    throw error;
  }
  const state = bus.state(channel);
  if (position.epoch === state.epoch && position.offset > state.lastOffset) {
    throw new ApiError(
      400,
      'position_ahead',
      `${field}: ${text} is beyond the newest message of ${channel} (${state.epoch}:${state.lastOffset})`,
    );
  }
  return position;
}
