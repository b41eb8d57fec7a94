/**
 * The one way in for a subscriber, WebSocket and SSE alike, in the order that makes refusals cheap: not while the
 * service drains; the credential for the channel; the start point (`since`, `Last-Event-ID` or `from`), a bad one
 * counted; the connection slots (a dashboard viewer's pool first, then the transport's); the connection rate last, so
 * that an attempt refused for anything else takes nothing from it. What was taken is given back on any refusal, and
 * by the admitted connection's `release` when it ends; a subscriber token's expiry ends it.
 */
import { Inject, Injectable } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { AccessControl, type SubscriptionCredential } from '../auth/access-control';
import type { Principal } from '../auth/principal';
import { BUS, type Bus } from '../bus/bus.port';
import { ApiError } from '../common/api-error';
import type { Transport } from '../metrics/streaming.metrics';
import { ConnectionLimits, type Pool, type RefusalReason } from './connection-limits';
import { startPoint, type StartPoint } from './subscription-request';

/** Retry-After sent with a refusal at the connection limit. */
export const RETRY_AFTER_SECONDS = 5;
/** Retry-After sent while shutting down: a restart takes a second or two, so clients come back soon after. */
export const SHUTTING_DOWN_RETRY_AFTER_SECONDS = 1;

export interface AdmissionRequest {
  transport: Transport;
  request: IncomingMessage;
  channel: string;
  /** The names a credential may be granted the channel by (its path name, the bus channel). */
  names: readonly string[];
  credential: SubscriptionCredential;
  /** Where the client asks to start. */
  asked: { since?: string; from?: string; lastEventId?: string };
  /** A second pool the connection counts against (dashboard viewers). */
  pool?: Exclude<Pool, 'websocket' | 'sse'>;
}

export interface Admitted {
  principal: Principal | undefined;
  start: StartPoint;
  /** Gives back the connection slots: call once, when the connection ends. */
  release: () => void;
}

const POOL_NAMES: Readonly<Record<Pool, string>> = {
  websocket: 'WebSocket connection',
  sse: 'SSE connection',
  dashboard: 'dashboard viewer',
};

@Injectable()
export class Admission {
  constructor(
    @Inject(BUS) private readonly bus: Bus,
    private readonly connections: ConnectionLimits,
    private readonly access: AccessControl,
  ) {}

  /** Throws 503 shutting_down while the service drains. */
  ensureOpen(): void {
    if (this.connections.draining) {
      throw ApiError.unavailable('shutting_down', 'the service is shutting down', SHUTTING_DOWN_RETRY_AFTER_SECONDS);
    }
  }

  /** Counts a refusal decided by the transport itself (an unknown channel). */
  refused(transport: Transport, reason: RefusalReason): void {
    this.connections.refused(transport, reason);
  }

  /** Admits a subscriber or rejects with the ApiError that refuses it, having given back whatever it took. */
  async admit({ transport, request, channel, names, credential, asked, pool }: AdmissionRequest): Promise<Admitted> {
    this.ensureOpen();
    const principal = await this.access.subscribe(request, names, credential);
    let start: StartPoint;
    try {
      start = startPoint(this.bus, channel, asked);
    } catch (error) {
      this.connections.refused(transport, 'bad_position');
      throw error;
    }
    const taken: Pool[] = [];
    const release = (): void => {
      for (const slot of taken.splice(0)) this.connections.release(slot);
    };
    for (const slot of [pool, transport] as const) {
      if (slot === undefined) continue;
      if (!this.connections.tryAcquire(slot)) {
        release();
        this.connections.refused(transport, 'max_connections', slot);
        const limit = this.connections.limit(slot);
        throw ApiError.unavailable('max_connections', `${POOL_NAMES[slot]} limit reached (${limit})`, RETRY_AFTER_SECONDS, { limit });
      }
      taken.push(slot);
    }
    try {
      this.access.admit(request, principal);
    } catch (error) {
      release();
      this.connections.refused(transport, 'rate_limited');
      throw error;
    }
    return { principal, start, release };
  }

  /** Calls `expire` when the principal's subscriber token expires (nothing for an API key); returns the timer. */
  onExpiry(principal: Principal | undefined, expire: () => void): NodeJS.Timeout | undefined {
    if (principal?.expiresAt === undefined) return undefined;
    const timer = setTimeout(expire, Math.max(0, principal.expiresAt - Date.now()));
    timer.unref();
    return timer;
  }
}
