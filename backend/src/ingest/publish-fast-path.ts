/**
 * POST /events without the framework pipeline. Publishing is the hottest HTTP call (one request per event for
 * many publishers), and the Express + Nest pipeline costs about 0.6 ms per request on our machines, which capped
 * ingest near 1,600 requests/s on one core. This handler answers the common case, an `application/json` body in
 * UTF-8 with no content encoding, with exactly the checks, limits and error bodies of EventsController; every other
 * request (another charset, a compressed body, a wrong media type) falls through to the controller, which stays the
 * documented (OpenAPI) route. Tests: test/ingest.e2e-spec.ts covers both paths.
 */
import { Injectable } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AccessControl } from '../auth/access-control';
import { ApiError } from '../common/api-error';
import { sendApiError, sendJson } from '../common/raw-response';
import { InjectConfig } from '../config/config.module';
import type { AppConfig } from '../config/config.schema';
import type { Principal } from '../auth/principal';
import { IngestService, idempotencyKeyOf } from './ingest.service';

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
const JSON_UTF8 = /^application\/json\s*(?:;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;

@Injectable()
export class PublishFastPath {
  private readonly maxBytes: number;

  constructor(
    @InjectConfig() config: AppConfig,
    private readonly access: AccessControl,
    private readonly ingest: IngestService,
  ) {
    this.maxBytes = config.service.max_body_bytes;
  }

  /** Takes the request when it is a plain JSON POST /events; returns false to leave it to the framework. */
  handle(request: IncomingMessage, response: ServerResponse): boolean {
    if (request.method !== 'POST' || !isEventsPath(request.url)) return false;
    const encoding = request.headers['content-encoding'];
    if ((encoding !== undefined && encoding.toLowerCase() !== 'identity') || !JSON_UTF8.test(request.headers['content-type'] ?? '')) {
      return false;
    }
    let principal: Principal | undefined;
    let idempotencyKey: string | undefined;
    try {
      principal = this.access.authorizeKey(request, 'publish');
      // A subscriber token is checked asynchronously (and can never publish): the framework's path answers it.
      if (!principal) return false;
      idempotencyKey = idempotencyKeyOf(request.headers);
    } catch (error) {
      sendApiError(response, error as ApiError, true);
      return true;
    }
    const declared = Number(request.headers['content-length'] ?? Number.NaN);
    if (declared > this.maxBytes) {
      sendApiError(response, tooLarge(this.maxBytes), true);
      return true;
    }
    const chunks: Buffer[] = [];
    let received = 0;
    let refused = false;
    request.on('data', (chunk: Buffer) => {
      if (refused) return;
      received += chunk.length;
      if (received > this.maxBytes) {
        refused = true;
        sendApiError(response, tooLarge(this.maxBytes), true);
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => {
      if (!refused) void this.accept(Buffer.concat(chunks, received), response, principal, idempotencyKey);
    });
    request.on('error', () => response.destroy());
    return true;
  }

  private async accept(raw: Buffer, response: ServerResponse, principal: Principal, idempotencyKey: string | undefined): Promise<void> {
    let text: string;
    try {
      text = UTF8.decode(raw);
    } catch {
      sendApiError(response, new ApiError(400, 'invalid_utf8', 'request body is not valid UTF-8'));
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (error) {
      sendApiError(response, new ApiError(400, 'malformed_json', `request body is not valid JSON: ${(error as Error).message}`));
      return;
    }
    try {
      const { result, replayed } = await this.ingest.acceptBody(body, {
        principal,
        ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
      });
      if (replayed) response.setHeader('Idempotent-Replayed', 'true');
      sendJson(response, 202, JSON.stringify(result));
    } catch (error) {
      sendApiError(response, error instanceof ApiError ? error : new ApiError(500, 'internal_error', 'internal error'));
    }
  }
}

function isEventsPath(url: string | undefined): boolean {
  if (url === '/events' || url === '/events/') return true;
  return url !== undefined && (url.startsWith('/events?') || url.startsWith('/events/?'));
}

const tooLarge = (limit: number): ApiError =>
  new ApiError(413, 'payload_too_large', `request body is larger than the limit of ${limit} bytes`);
