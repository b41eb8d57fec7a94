/**
 * Each HTTP request's id: the caller's `X-Request-Id` when it is a plain token (a proxy's, so that its log and ours
 * meet), else one of this process's own; sent back in `X-Request-Id` and written with the request's error lines.
 */
import type { IncomingMessage } from 'node:http';

const ids = new WeakMap<IncomingMessage, string>();
const PLAIN = /^[A-Za-z0-9._:-]{1,128}$/;
const PREFIX = `${process.pid.toString(36)}-`;
let made = 0;

export function assignRequestId(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  const id = typeof given === 'string' && PLAIN.test(given) ? given : `${PREFIX}${(++made).toString(36)}`;
  ids.set(request, id);
  return id;
}

export const requestIdOf = (request: IncomingMessage): string | undefined => ids.get(request);
