/**
 * Server-Sent Events connections: the shared admission step (admission.ts), the response headers, keep-alive
 * comments, and handing the stream to the fan-out. Used by /sse/{stream} and /streams/high_frequency/{name}.
 */
import { CLOSE } from '@data-streaming/protocol';
import { Injectable, Logger, type BeforeApplicationShutdown, type OnModuleDestroy } from '@nestjs/common';
import type { Request, Response } from 'express';
import { InjectConfig } from '../../config/config.module';
import type { AppConfig } from '../../config/config.schema';
import { Compressor, GzipStream } from '../compression';
import { ConnectionLimits } from '../connection-limits';
import { FanoutService, type AttachOptions } from '../fanout/fanout.service';
import type { Subscriber } from '../fanout/subscriber';
import { queryText } from '../subscription-request';
import { Admission } from '../admission';
import { snapshotFirst, type LiveChannel } from '../live-channels';
import { SseSink } from './sse.sink';

export interface SseStreamOptions {
  /** The names a credential may be granted this stream by: its path name and the bus channel. */
  names: readonly string[];
  compression: boolean;
  attach?: Omit<AttachOptions, 'since' | 'from' | 'beforeLive'>;
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
    private readonly fanout: FanoutService,
    private readonly connections: ConnectionLimits,
    private readonly admission: Admission,
    private readonly compressor: Compressor,
  ) {
    this.keepAlive = setInterval(() => {
      for (const sink of this.streams) sink.keepAlive();
    }, config.sse.keep_alive_interval * 1000);
    this.keepAlive.unref();
  }

  /**
   * Opens an SSE stream of `live.channel` on `response` (a fresh subscriber of a live channel with a state gets its
   * snapshot first, and counts against its pool); throws ApiError before any byte is written when refused.
   */
  async open(request: Request, response: Response, live: LiveChannel, options: SseStreamOptions): Promise<void> {
    const { channel } = live;
    const { principal, start, release } = await this.admission.admit({
      transport: 'sse',
      request,
      channel,
      names: options.names,
      credential: { query: typeof request.query.token === 'string' ? request.query.token : undefined },
      asked: {
        since: queryText(request.query, 'since'),
        from: queryText(request.query, 'from'),
        lastEventId: request.header('last-event-id'),
      },
      ...(live.pool ? { pool: live.pool } : {}),
    });

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
    const expiry = this.admission.onExpiry(principal, () =>
      sink.end({ kind: 'error', code: CLOSE.TOKEN_EXPIRED, reason: 'token_expired', message: 'the subscriber token expired' }),
    );
    response.on('close', () => {
      clearTimeout(expiry);
      connection.closed = true;
      this.streams.delete(sink);
      release();
      if (subscriber) this.fanout.detach(subscriber);
    });
    sink.write(`retry: ${this.config.sse.retry_timeout}\n\n`);
    try {
      subscriber = await this.fanout.attach(channel, sink, { ...options.attach, ...start, beforeLive: snapshotFirst(live, start) });
      if (connection.closed) this.fanout.detach(subscriber);
    } catch (error) {
      this.logger.warn(`SSE subscription to ${channel} failed: ${(error as Error).message}`);
      sink.end({ kind: 'error', code: CLOSE.INTERNAL_ERROR, reason: 'subscription_failed', message: (error as Error).message });
    }
  }

  beforeApplicationShutdown(): void {
    this.connections.draining = true;
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
