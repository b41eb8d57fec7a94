/**
 * Every access decision in one place, for the HTTP guard, the lean publish path, WebSocket upgrades and SSE:
 * credentials and scopes (Credentials), the browser Origin allow-list, and rate limits on publishing and on new
 * connections (429 with Retry-After): per credential for a client with a key or token, per address for anonymous
 * ones, so that every viewer behind one proxy (Grafana's data proxy) does not share one budget. A connection takes
 * from its budget only once it is admitted: attempts refused for any reason cost nothing. Refusals are ApiErrors and
 * counted in access_refused_total.
 */
import { Injectable } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { ApiError } from '../common/api-error';
import { sendApiError } from '../common/raw-response';
import { InjectConfig } from '../config/config.module';
import type { AppConfig } from '../config/config.schema';
import { StreamingMetrics } from '../metrics/streaming.metrics';
import { Credentials, bearer } from './credentials';
import type { Principal, Scope } from './principal';
import { RateLimiter } from './rate-limiter';

/** Where a subscriber's token may come from, besides the Authorization header. */
export interface SubscriptionCredential {
  query?: string | null;
  subprotocol?: string;
}

@Injectable()
export class AccessControl {
  private readonly publishLimiter: RateLimiter | undefined;
  private readonly connectionLimiter: RateLimiter | undefined;
  /** Failed authentications per address, on the connection rates: guessing keys is limited too. */
  private readonly failureLimiter: RateLimiter | undefined;
  private readonly origins: ReadonlySet<string>;
  /** The principal each request was authorized as (by the guard), for the handler. */
  private readonly principals = new WeakMap<IncomingMessage, Principal>();

  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly credentials: Credentials,
    private readonly metrics: StreamingMetrics,
  ) {
    const limits = config.rate_limits;
    if (limits.enabled) {
      this.publishLimiter = new RateLimiter(limits.publish_per_second, limits.publish_burst, limits.max_tracked);
      this.connectionLimiter = new RateLimiter(limits.connections_per_second, limits.connections_burst, limits.max_tracked);
      this.failureLimiter = new RateLimiter(limits.connections_per_second, limits.connections_burst, limits.max_tracked);
    }
    this.origins = new Set(config.auth.allowed_origins);
  }

  /**
   * An HTTP call needing `scope` (any valid credential when undefined); publishing calls are also rate-limited. The
   * principal is kept for the request (`principal`).
   */
  async authorize(request: IncomingMessage, scope: Scope | undefined, keysOnly = false): Promise<Principal> {
    const principal = await this.refusing(request, () =>
      this.credentials.authorize(bearer(request.headers.authorization), scope, keysOnly),
    );
    if (scope === 'publish') this.limit(this.publishLimiter, request, principal, 'publish');
    this.principals.set(request, principal);
    return principal;
  }

  /**
   * As `authorize`, at once, for the lean publish path; undefined for a request whose credential is a subscriber
   * token, which only `authorize` can check (asynchronously): leave that request to the framework.
   */
  authorizeKey(request: IncomingMessage, scope: Scope): Principal | undefined {
    const principal = this.refusingNow(request, () => this.credentials.authorizeKey(bearer(request.headers.authorization), scope));
    if (principal && scope === 'publish') this.limit(this.publishLimiter, request, principal, 'publish');
    return principal;
  }

  /** The principal of a request the guard already let through, without taking from its rate limits a second time. */
  async principal(request: IncomingMessage): Promise<Principal> {
    return this.principals.get(request) ?? this.credentials.authorize(bearer(request.headers.authorization), undefined);
  }

  /**
   * Who may open a WebSocket or SSE subscription to a stream known by `names`; undefined for an anonymous public one.
   * Takes nothing from the connection rate: `admit` does, once every other check has passed.
   */
  async subscribe(request: IncomingMessage, names: readonly string[], from: SubscriptionCredential = {}): Promise<Principal | undefined> {
    this.checkOrigin(request);
    const credential = bearer(request.headers.authorization) ?? (from.query || undefined) ?? from.subprotocol;
    return this.refusing(request, () => this.credentials.authorizeSubscription(credential, names));
  }

  /** Takes a new connection from the connection rate of its credential (or address); 429 when it has none left. */
  admit(request: IncomingMessage, principal: Principal | undefined): void {
    this.limit(this.connectionLimiter, request, principal, 'connection');
  }

  /**
   * Browsers (requests with Origin) only from the allow-list, or from the service's own origin. With no keys and no
   * list configured (development), any origin.
   */
  private originAllowed(request: IncomingMessage): boolean {
    const origin = request.headers.origin;
    if (origin === undefined || this.origins.has('*') || this.origins.has(origin)) return true;
    // Development (no keys, no list): any browser may connect, as everything else is open too.
    if (this.origins.size === 0 && !this.credentials.required) return true;
    const host = request.headers.host;
    return host !== undefined && (origin === `http://${host}` || origin === `https://${host}`);
  }

  /**
   * CORS for HTTP: an allowed cross-origin browser gets the CORS headers (and its preflight a 204); a refused origin
   * gets 403. Returns false when the request was answered here.
   */
  cors(request: IncomingMessage, response: ServerResponse): boolean {
    const origin = request.headers.origin;
    if (origin === undefined) return true;
    try {
      this.checkOrigin(request);
    } catch (error) {
      response.setHeader('Vary', 'Origin');
      sendApiError(response, error as ApiError);
      return false;
    }
    response.setHeader('Access-Control-Allow-Origin', origin);
    response.setHeader('Vary', 'Origin');
    response.setHeader('Access-Control-Expose-Headers', 'Retry-After, ETag, WWW-Authenticate, Idempotent-Replayed');
    if (request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined) {
      response.writeHead(204, {
        'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
        'Access-Control-Allow-Headers': 'Authorization, Content-Type, Last-Event-ID, Cache-Control, Idempotency-Key',
        'Access-Control-Max-Age': '600',
      });
      response.end();
      return false;
    }
    return true;
  }

  checkOrigin(request: IncomingMessage): void {
    if (this.originAllowed(request)) return;
    this.metrics.accessRefused.labels('origin').inc();
    throw new ApiError(403, 'origin_not_allowed', 'this browser origin is not allowed (auth.allowed_origins)', {
      origin: (request.headers.origin ?? '').slice(0, 200),
    });
  }

  /**
   * The client's address, for per-address limits. Behind a trusted proxy, the last X-Forwarded-For entry: the address
   * the proxy itself saw (entries before it are whatever the client sent). Anything but an IP address is ignored.
   */
  private address(request: IncomingMessage): string {
    if (this.config.rate_limits.trust_forwarded_for) {
      const forwarded = request.headers['x-forwarded-for'];
      const last = (Array.isArray(forwarded) ? forwarded.at(-1) : forwarded)?.split(',').at(-1)?.trim() ?? '';
      if (last.length <= 45 && isIP(last) !== 0) return last;
    }
    return request.socket.remoteAddress ?? 'unknown';
  }

  private limit(limiter: RateLimiter | undefined, request: IncomingMessage, principal: Principal | undefined, what: string): void {
    if (!limiter) return;
    const identities = principal && principal.kind !== 'open' ? [principal.id] : [`addr:${this.address(request)}`];
    const wait = limiter.take(identities);
    if (wait === 0) return;
    this.metrics.accessRefused.labels('rate_limited').inc();
    const retryAfter = Math.max(1, Math.ceil(wait));
    throw new ApiError(
      429,
      'too_many_requests',
      `${what} rate limit reached; retry after ${retryAfter} s`,
      { retry_after_seconds: retryAfter },
      {
        'Retry-After': String(retryAfter),
      },
    );
  }

  /** Runs a credential check; a refusal is counted, and a 401 takes from the address's failed-authentication rate. */
  private async refusing<T>(request: IncomingMessage, check: () => Promise<T>): Promise<T> {
    try {
      return await check();
    } catch (error) {
      this.refused(request, error);
      throw error;
    }
  }

  private refusingNow<T>(request: IncomingMessage, check: () => T): T {
    try {
      return check();
    } catch (error) {
      this.refused(request, error);
      throw error;
    }
  }

  private refused(request: IncomingMessage, error: unknown): void {
    if (!(error instanceof ApiError)) return;
    this.metrics.accessRefused.labels(error.status === 403 ? 'forbidden' : 'unauthorized').inc();
    if (error.status === 401) this.limit(this.failureLimiter, request, undefined, 'failed authentication');
  }
}
