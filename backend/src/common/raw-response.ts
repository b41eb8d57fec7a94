/**
 * Writing JSON answers on a bare Node response, for the paths that answer before the framework (the lean publish
 * path, CORS and origin refusals): the same body and headers as the HTTP exception filter.
 */
import type { ServerResponse } from 'node:http';
import type { ApiError } from './api-error';

export function sendJson(response: ServerResponse, status: number, json: string): void {
  if (response.headersSent || response.destroyed) return;
  response.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(json) });
  response.end(json);
}

/** Renders an ApiError; `close` ends the connection when the rest of the body is not going to be read. */
export function sendApiError(response: ServerResponse, error: ApiError, close = false): void {
  for (const [name, value] of Object.entries(error.headers)) response.setHeader(name, value);
  if (close) response.setHeader('Connection', 'close');
  sendJson(response, error.status, JSON.stringify(error.body));
}
