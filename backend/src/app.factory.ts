/**
 * Builds the application from a validated configuration: the HTTP server with its limits, the JSON body parser,
 * OpenAPI, and every module. main.ts and the tests both start the service through here.
 */
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { withProtocolSchemas } from './common/openapi';
import { SERVICE_VERSION } from './common/version';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ErrorBody } from './common/api-error';
import { AppModule } from './app.module';
import type { AppConfig } from './config/config.schema';
import { AccessControl } from './auth/access-control';
import { PublishFastPath } from './ingest/publish-fast-path';
import { distDir as consoleDistDir } from '@data-streaming/console';
import { ConsoleAssets } from './console/console-assets';
import { createServiceLogger } from './common/service-logger';
import { assignRequestId } from './http/request-id';

export async function createApp(config: AppConfig, options: { logger?: boolean } = {}): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    bodyParser: false,
    // A provider that cannot start (a database that cannot be opened) must reach main.ts, not abort the process.
    abortOnError: false,
    logger: options.logger === false ? false : createServiceLogger(config.performance),
  });
  app.useBodyParser('json', { limit: config.service.max_body_bytes, strict: false });
  app.disable('x-powered-by');
  app.set('etag', false);

  const document = withProtocolSchemas(
    SwaggerModule.createDocument(
      app,
      new DocumentBuilder()
        .setTitle('data-streaming-api')
        .setDescription('Live events and metrics of the LLM platform over HTTP, WebSocket and SSE. Wire format: docs/PROTOCOL.md.')
        .setVersion(SERVICE_VERSION)
        .addBearerAuth()
        .build(),
    ),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'openapi.json' });

  const server: Server = app.getHttpServer();
  // Origin and CORS first; then POST /events skips the framework pipeline in the common case (publish-fast-path.ts).
  const access = app.get(AccessControl);
  const fastPath = app.get(PublishFastPath);
  const consoleAssets = config.console.enabled ? new ConsoleAssets(consoleDistDir) : undefined;
  const framework = server.listeners('request') as ((request: IncomingMessage, response: ServerResponse) => void)[];
  server.removeAllListeners('request');
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    response.setHeader('X-Request-Id', assignRequestId(request));
    if (!access.cors(request, response)) return;
    if (consoleAssets?.handle(request, response)) return;
    if (!fastPath.handle(request, response)) for (const listener of framework) listener(request, response);
  });
  server.requestTimeout = config.service.request_timeout * 1000;
  server.headersTimeout = Math.min(server.requestTimeout, config.service.headers_timeout * 1000);
  guardSlowHeaders(server, config.service.headers_timeout * 1000);
  server.on('clientError', answerUnparsable);
  // Longer than the clients' own idle timeouts, so a keep-alive client closes first (Node advertises it in Keep-Alive).
  server.keepAliveTimeout = config.service.keep_alive_timeout * 1000;
  return app;
}

/** What Node's HTTP parser refuses before any handler sees the request, with the status Node itself would send. */
const PARSER_ERRORS: Record<string, { status: number; reason: string; error: string; message: string }> = {
  HPE_HEADER_OVERFLOW: {
    status: 431,
    reason: 'Request Header Fields Too Large',
    error: 'headers_too_large',
    message: 'the request headers are larger than the server accepts',
  },
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    reason: 'Request Timeout',
    error: 'request_timeout',
    message: 'the request did not arrive in time (service.request_timeout)',
  },
};

/**
 * A request Node's HTTP parser cannot read (raw non-ASCII or control characters in the request line or a header, a
 * malformed line, headers too large, too slow) gets the documented JSON error body instead of Node's bare status
 * line, and the connection is closed: what follows on it cannot be framed. Nothing is logged of the request itself.
 */
export function answerUnparsable(error: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable || (error.code === 'ECONNRESET' && socket.destroyed)) {
    socket.destroy();
    return;
  }
  const known = PARSER_ERRORS[error.code ?? ''];
  const answer = known ?? {
    status: 400,
    reason: 'Bad Request',
    error: 'malformed_request',
    message:
      'the request could not be parsed as HTTP/1.1: characters outside ASCII in the request line or a header must be percent-encoded',
  };
  const body = JSON.stringify({ error: answer.error, message: answer.message } satisfies ErrorBody);
  socket.end(
    `HTTP/1.1 ${answer.status} ${answer.reason}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * A connection that has not sent complete request headers within `timeoutMs` is closed. Node enforces
 * headersTimeout only on a 30-second sweep; this closes a slow-header client (one byte a second) on time. A new
 * connection's first request is timed from the connection's start. Between requests a keep-alive connection may
 * stay idle (Node closes it after keepAliveTimeout); the next request is timed from when its first bytes are seen
 * (socket.bytesRead, looked at every quarter of `timeoutMs`), so it is cut off within 1.25 × `timeoutMs` of them.
 */
function guardSlowHeaders(server: Server, timeoutMs: number): void {
  const timers = new WeakMap<Socket, NodeJS.Timeout>();
  const period = Math.max(50, timeoutMs / 4);
  const set = (socket: Socket, ms: number, then: () => void): void => {
    clearTimeout(timers.get(socket));
    if (socket.destroyed) return;
    const timer = setTimeout(then, ms);
    timer.unref();
    timers.set(socket, timer);
  };
  const deadline = (socket: Socket): void => set(socket, timeoutMs, () => socket.destroy());
  const idle = (socket: Socket): void => {
    const bytesWhenIdle = socket.bytesRead;
    const look = (): void => (socket.bytesRead > bytesWhenIdle ? deadline(socket) : set(socket, period, look));
    set(socket, period, look);
  };
  server.on('connection', (socket: Socket) => {
    deadline(socket);
    socket.once('close', () => clearTimeout(timers.get(socket)));
  });
  server.prependListener('request', (request: IncomingMessage, response: ServerResponse) => {
    clearTimeout(timers.get(request.socket));
    response.once('finish', () => idle(request.socket));
  });
  server.prependListener('upgrade', (request: IncomingMessage) => clearTimeout(timers.get(request.socket)));
}

/** Starts listening; returns the bound address (port 0 picks a free one). */
export async function listen(app: NestExpressApplication, config: AppConfig): Promise<{ host: string; port: number }> {
  await app.listen(config.service.port, config.service.host);
  const server: Server = app.getHttpServer();
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.service.port;
  new Logger('Bootstrap').log(`data-streaming-api listening on http://${config.service.host}:${port}`);
  return { host: config.service.host, port };
}
