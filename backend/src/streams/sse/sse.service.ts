/**
 * Server-Sent Events connections: admission (limit, resume position or start time), the response headers, keep-alive
 * comments, and handing the stream to the fan-out. Used by /sse/{stream} and /streams/high_frequency/{name}.
 */
import { CLOSE } from '@data-streaming/protocol';
import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnModuleDestroy } from '@nestjs/common';
import type { Request, Response } from 'express';
import { BUS, type Bus } from '../../bus/bus.port';
import { AccessControl } from '../../auth/access-control';
import { ApiError } from '../../common/api-error';
import { InjectConfig } from '../../config/config.module';
import type { AppConfig } from '../../config/config.schema';
import { Compressor, GzipStream } from '../compression';
import { ConnectionRegistry, type Pool } from '../connection-registry';
import { FanoutService, type AttachOptions } from '../fanout/fanout.service';
import type { Subscriber } from '../fanout/subscriber';
import { queryText, startPoint, type StartPoint } from '../subscription-request';
import { RETRY_AFTER_SECONDS, SHUTTING_DOWN_RETRY_AFTER_SECONDS } from '../websocket/close-codes';
import { SseSink } from './sse.sink';

export interface SseStreamOptions {
  /** The names a credential may be granted this stream by: its path name and the bus channel. */
  names: readonly string[];
  compression: boolean;
  attach?: Omit<AttachOptions, 'since' | 'from'>;
  /** A second pool the stream counts against (dashboard viewers). */
  pool?: Exclude<Pool, 'websocket' | 'sse'>;
}

/** Whether an Accept-Encoding header admits gzip (not refused with q=0). */
export function acceptsGzip(header: string | undefined): boolean {
  return (header ?? '').split(',').some((part) => {
    const [coding, ...parameters] = part.trim().toLowerCase().split(';');
    const q = parameters.map((parameter) => /^\s*q=([\d.]+)\s*$/.exec(parameter)?.[1]).find((value) => value !== undefined);
    return (coding === 'gzip' || coding === 'x-gzip') && (q === undefined || Number(q) > 0);
  });
}

@Injectable()
export class SseService implements BeforeApplicationShutdown, OnModuleDestroy {
  private readonly logger = new Logger(SseService.name);
  private readonly streams = new Set<SseSink>();
  private readonly keepAlive: NodeJS.Timeout;

  constructor(
    @InjectConfig() private readonly config: AppConfig,
    @Inject(BUS) private readonly bus: Bus,
    private readonly fanout: FanoutService,
    private readonly registry: ConnectionRegistry,
    private readonly access: AccessControl,
    private readonly compressor: Compressor,
  ) {
    this.keepAlive = setInterval(() => {
      for (const sink of this.streams) sink.keepAlive();
    }, config.sse.keep_alive_interval * 1000);
    this.keepAlive.unref();
  }

  /** Opens an SSE stream of `channel` on `response`; throws ApiError before any byte is written when refused. */
  async open(request: Request, response: Response, channel: string, options: SseStreamOptions): Promise<void> {
    if (this.registry.draining)
      throw ApiError.unavailable('shutting_down', 'the service is shutting down', SHUTTING_DOWN_RETRY_AFTER_SECONDS);
    const token = typeof request.query.token === 'string' ? request.query.token : undefined;
    const principal = this.access.subscribe(request, options.names, { query: token });
    let start: StartPoint;
    try {
      start = startPoint(this.bus, channel, {
        since: queryText(request.query, 'since'),
        from: queryText(request.query, 'from'),
        lastEventId: request.header('last-event-id'),
      });
    } catch (error) {
      this.registry.refused('sse', 'bad_position');
      throw error;
    }
    const pool = options.pool;
    for (const [taken, name] of [[pool, 'dashboard viewer'] as const, ['sse', 'SSE connection'] as const]) {
      if (taken === undefined || this.registry.tryAcquire(taken)) continue;
      if (pool !== undefined && taken === 'sse') this.registry.release(pool);
      this.registry.refused('sse', 'max_connections', taken);
      const limit = this.registry.limit(taken);
      throw ApiError.unavailable('max_connections', `${name} limit reached (${limit})`, RETRY_AFTER_SECONDS, { limit });
    }
    // Last, so that an attempt refused for anything else takes nothing from the connection rate.
    try {
      this.access.admit(request, principal);
    } catch (error) {
      this.registry.release('sse');
      if (pool !== undefined) this.registry.release(pool);
      this.registry.refused('sse', 'rate_limited');
      throw error;
    }

    const gzip = options.compression && acceptsGzip(request.header('accept-encoding')) ? new GzipStream() : undefined;
    response.status(200);
    response.set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
      ...(gzip ? { 'Content-Encoding': 'gzip', Vary: 'Accept-Encoding' } : {}),
    });
    response.flushHeaders();
    request.socket.setNoDelay(true);
    request.socket.setTimeout(0);
    const sink = new SseSink(response, this.compressor, gzip);
    this.streams.add(sink);
    let subscriber: Subscriber | undefined;
    const connection = { closed: false };
    // A subscriber token ends the stream when it expires; the client resumes with a new one and Last-Event-ID.
    const expiry =
      principal?.expiresAt === undefined
        ? undefined
        : setTimeout(
            () => sink.end({ kind: 'error', code: CLOSE.TOKEN_EXPIRED, reason: 'token_expired', message: 'the subscriber token expired' }),
            Math.max(0, principal.expiresAt - Date.now()),
          );
    expiry?.unref();
    response.on('close', () => {
      clearTimeout(expiry);
      connection.closed = true;
      this.streams.delete(sink);
      this.registry.release('sse');
      if (pool) this.registry.release(pool);
      if (subscriber) this.fanout.detach(subscriber);
    });
    sink.write(`retry: ${this.config.sse.retry_timeout}\n\n`);
    try {
      subscriber = await this.fanout.attach(channel, sink, { ...options.attach, ...start });
      if (connection.closed) this.fanout.detach(subscriber);
    } catch (error) {
      this.logger.warn(`SSE subscription to ${channel} failed: ${(error as Error).message}`);
      sink.end({ kind: 'error', code: 1011, reason: 'subscription_failed', message: (error as Error).message });
    }
  }

  beforeApplicationShutdown(): void {
    this.registry.draining = true;
    for (const sink of this.streams) {
      sink.end(
        { kind: 'error', code: CLOSE.GOING_AWAY, reason: 'going_away', message: 'server shutting down; reconnect after retry' },
        true,
      );
    }
  }

  onModuleDestroy(): void {
    clearInterval(this.keepAlive);
  }
}
