/**
 * A position in a channel: `epoch:offset`. The epoch names one lifetime of a channel's history (a new in-memory bus
 * after a restart has a new epoch); offsets count messages from 1 within an epoch. Position `e:n` means "I have
 * seen message n of epoch e".
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

export function parsePosition(text: string): Position {
  const match = POSITION.exec(text);
  const offset = match ? Number(match[2]) : NaN;
  if (!match || !Number.isSafeInteger(offset)) throw new InvalidPositionError(text);
  return { epoch: match[1] as string, offset };
}

export const formatPosition = (epoch: string, offset: number): string => `${epoch}:${offset}`;
