/**
 * Each HTTP request's id: the caller's `X-Request-Id` when it is a plain token (a proxy's, so that its log and ours
 * meet), else one of this process's own; sent back in `X-Request-Id`, where the error filter reads it for its lines.
 */
import type { IncomingMessage } from 'node:http';

const PLAIN = /^[A-Za-z0-9._:-]{1,128}$/;
const PREFIX = `${process.pid.toString(36)}-`;
let made = 0;

export function assignRequestId(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && PLAIN.test(given) ? given : `${PREFIX}${(++made).toString(36)}`;
}
