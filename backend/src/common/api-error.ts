/**
 * The one error shape of the service: HTTP status plus `{ error, message, details }`. Domain code throws ApiError;
 * the global filter and the WebSocket upgrade handler both render it.
 */
export interface ErrorBody {
  error: string;
  message: string;
  details?: unknown;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  get body(): ErrorBody {
    return { error: this.code, message: this.message, ...(this.details === undefined ? {} : { details: this.details }) };
  }

  static badRequest(message: string, details?: unknown): ApiError {
    return new ApiError(400, 'bad_request', message, details);
  }

  static notFound(code: string, message: string, details?: unknown): ApiError {
    return new ApiError(404, code, message, details);
  }

  static unavailable(code: string, message: string, retryAfterSeconds: number, details?: unknown): ApiError {
    return new ApiError(503, code, message, details, { 'Retry-After': String(retryAfterSeconds) });
  }
}
