/**
 * Maps every error to the one JSON error shape. Body-parser failures become 400/413 naming the problem; unknown
 * errors become a 500 without a stack trace (the stack goes to the log).
 */
import { Catch, HttpException, HttpStatus, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import { ApiError, type ErrorBody } from '../common/api-error';
import type { IncomingMessage } from 'node:http';

interface BodyParserError {
  type: string;
  status?: number;
  limit?: number;
  expose?: boolean;
  message: string;
}

const isBodyParserError = (error: unknown): error is BodyParserError =>
  typeof error === 'object' && error !== null && typeof (error as { type?: unknown }).type === 'string' && 'expose' in error;

const CODES: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  408: 'request_timeout',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'too_many_requests',
  503: 'service_unavailable',
  504: 'gateway_timeout',
};

export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  // The Express adapter wraps body-parser errors in an HttpException; the original says what went wrong.
  if (error instanceof HttpException && isBodyParserError(error.cause)) return toApiError(error.cause);
  if (isBodyParserError(error)) {
    switch (error.type) {
      case 'entity.too.large':
        return new ApiError(413, 'payload_too_large', `request body is larger than the limit of ${error.limit ?? '?'} bytes`);
      case 'entity.parse.failed':
        return new ApiError(400, 'malformed_json', `request body is not valid JSON: ${error.message}`);
      case 'encoding.unsupported':
      case 'charset.unsupported':
        return new ApiError(415, 'unsupported_media_type', error.message);
      default:
        return new ApiError(error.status ?? 400, CODES[error.status ?? 400] ?? 'bad_request', error.message);
    }
  }
  if (error instanceof HttpException) {
    const status = error.getStatus();
    const response = error.getResponse();
    const message =
      typeof response === 'string'
        ? response
        : typeof (response as { message?: unknown }).message === 'string'
          ? (response as { message: string }).message
          : error.message;
    return new ApiError(status, CODES[status] ?? `http_${status}`, message);
  }
  return new ApiError(HttpStatus.INTERNAL_SERVER_ERROR, 'internal_error', 'internal error');
}

@Catch()
export class ErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('ErrorFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    const error = toApiError(exception);
    if (error.status >= 500 && !(exception instanceof ApiError) && !(exception instanceof HttpException)) {
      const request = host.switchToHttp().getRequest<IncomingMessage>();
      // The path without its query, which may carry a token.
      this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception), {
        // The id app.factory.ts sent back on this response.
        request: response.getHeader('X-Request-Id'),
        method: request.method,
        path: (request.url ?? '').split('?')[0],
      });
    }
    if (response.headersSent) {
      response.end();
      return;
    }
    const body: ErrorBody = error.body;
    response.status(error.status).set(error.headers).json(body);
  }
}
