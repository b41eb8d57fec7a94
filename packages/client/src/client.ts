/**
 * The client of data-streaming-api, for browsers and Node: `subscribe(channel, {since | from, onEvent, onGap,
 * onError})` over WebSocket (default) or SSE. Subscribers of a channel share one connection per starting point (all
 * live subscribers share one; subscribers that ask for the same `from` or `since` together share theirs); a lost
 * connection comes back with capped exponential backoff and jitter, never sooner than the service's Retry-After,
 * and resumes from the last id it delivered, so subscribers see no gap and no duplicate. When the service says
 * history no longer covered the gap (`recovered: false`), every subscriber gets a typed gap notice. A refusal that a
 * retry will not cure (an unknown channel, a refused credential) is reported through `onError` and not retried.
 * Subscriber tokens from `getToken` are renewed before they expire. Unsubscribing the last subscriber closes the
 * connection and clears every timer.
 */
import type { GapReason, WelcomeFrame, WireEvent } from '@data-streaming/protocol';
import { ClientError } from './errors.js';
import {
  openEventStream,
  openWebSocket,
  type Connection,
  type Ending,
  type FetchLike,
  type SocketFactory,
  type Target,
} from './transports.js';

export type TransportKind = 'websocket' | 'sse';

/** A credential for the subscriptions: fixed, or fetched (and renewed before `expiresAt`) by `getToken`. */
export type Credential =
  { token: string } | { getToken: (channel: string) => Promise<{ token: string; expiresAt?: number | string | Date }> };

export interface ClientOptions {
  /** The service's base URL: `http://127.0.0.1:9102`, or a proxy's (`https://grafana/api/datasources/proxy/uid/x/api`). */
  url: string;
  credential?: Credential;
  /** WebSocket (default) or SSE (a stream read with fetch). */
  transport?: TransportKind;
  /** Opens a WebSocket; default: the global WebSocket (browsers, Node 22+). In Node 20 pass `ws`: `(url, p) => new WebSocket(url, p)`. */
  createSocket?: SocketFactory;
  /** Default: the global fetch. */
  fetch?: FetchLike;
  /** Reconnect delays: the first at most `initialMs`, doubling up to `maxMs`, each with jitter (half to all of it). */
  backoff?: { initialMs: number; maxMs: number };
  /** How long before a token's expiry it is renewed, at least (default 10 % of its life, at least 5 s). */
  renewBeforeMs?: number;
}

/** A gap the service could not fill: events between `lastId` and the first one delivered after it may be missing. */
export interface Gap {
  reason: GapReason | 'resume_refused';
  /** The last id delivered before the gap, when there was one. */
  lastId: string | undefined;
  /** With `from`: the time from which the replay is complete. */
  fromReached?: string;
  /** The welcome that reported it, when it came from one. */
  welcome?: WelcomeFrame;
}

/**
 * `open`: the service took the subscription (its first frame arrived; a browser's refused upgrade opens a socket that
 * only carries the close, so the transport's open says nothing).
 */
export type Status = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface SubscribeOptions {
  /** Start after this event id (the last one you processed). */
  since?: string;
  /** Start from this time: history accepted since then, then live events. */
  from?: number | string | Date;
  onEvent?: (event: WireEvent) => void;
  /** Events in the groups they arrived in (a batch, a burst), instead of one by one. */
  onEvents?: (events: WireEvent[]) => void;
  /** A live channel's whole state, for a subscriber that starts fresh (dashboards, high-frequency streams). */
  onSnapshot?: (data: unknown, id: string) => void;
  onGap?: (gap: Gap) => void;
  /**
   * The replay the welcome announced (history from `since` or `from`) has been delivered, or there was none: what
   * follows is live. Called on every (re)connection's welcome; a live subscriber that joins a connection already
   * live hears it at once.
   */
  onReplayed?: () => void;
  onError?: (error: ClientError) => void;
  onStatus?: (status: Status) => void;
}

export interface Subscription {
  unsubscribe(): void;
  /** Where a reconnect resumes: the id of the last event or snapshot delivered, or where the stream stood when joined. */
  readonly lastId: string | undefined;
  /** Frames that were not valid JSON or not a known kind (skipped), and reconnections so far. */
  stats(): { malformed: number; reconnects: number };
}

export interface Client {
  subscribe(channel: string, options: SubscribeOptions): Subscription;
  /** Closes every connection. */
  close(): void;
  /** Open connections (for diagnostics and tests). */
  readonly connections: number;
}

interface Paths {
  websocket?: string;
  sse: string;
}

/**
 * Where a channel is served. Channels are named as the service names them: a WebSocket channel or SSE stream
 * (`metrics_updates`, `real_time_metrics`), `dashboards/<type>`, or `high_frequency/<name>` (SSE only).
 */
export function pathsOf(channel: string): Paths {
  const [family, name = ''] = channel.includes('/') ? (channel.split('/', 2) as [string, string]) : ['', channel];
  const part = encodeURIComponent(name);
  if (family === 'dashboards') return { websocket: `/ws/dashboards/${part}`, sse: `/dashboards/${part}/stream` };
  if (family === 'high_frequency') return { sse: `/streams/high_frequency/${part}` };
  return { websocket: `/ws/${encodeURIComponent(channel)}`, sse: `/sse/${encodeURIComponent(channel)}` };
}

const EVENT_KINDS = new Set(['welcome', 'event', 'batch', 'snapshot', 'error', 'pong']);

const isEvent = (value: unknown): value is WireEvent =>
  typeof value === 'object' &&
  value !== null &&
  (value as { kind?: unknown }).kind === 'event' &&
  typeof (value as { id?: unknown }).id === 'string' &&
  typeof (value as { timestamp?: unknown }).timestamp === 'string';

const startOf = (options: SubscribeOptions): string =>
  options.since !== undefined
    ? `since:${options.since}`
    : options.from !== undefined
      ? `from:${options.from instanceof Date ? options.from.getTime() : String(options.from)}`
      : 'live';

const timeOf = (value: number | string | Date): number =>
  value instanceof Date ? value.getTime() : typeof value === 'number' ? value : Date.parse(value);

class ChannelConnection {
  readonly subscribers = new Set<SubscribeOptions>();
  private connection: Connection | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private renewal: ReturnType<typeof setTimeout> | undefined;
  private attempts = 0;
  private closed = false;
  /** Whether a welcome arrived: from then on a subscriber that asks for a start point cannot join. */
  welcomed = false;
  /** Replayed events still to come after the welcome. */
  private replayLeft = 0;
  lastId: string | undefined;
  malformed = 0;
  reconnects = 0;

  constructor(
    readonly channel: string,
    readonly start: string,
    private readonly first: SubscribeOptions,
    private readonly path: string,
    private readonly kind: TransportKind,
    private readonly options: Required<Pick<ClientOptions, 'backoff'>> & ClientOptions,
    private readonly onIdle: () => void,
  ) {}

  open(): void {
    void this.connect();
  }

  private status(status: Status): void {
    for (const subscriber of [...this.subscribers]) subscriber.onStatus?.(status);
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    this.status(this.attempts === 0 && this.reconnects === 0 ? 'connecting' : 'reconnecting');
    const query = new URLSearchParams();
    if (this.lastId !== undefined) query.set('since', this.lastId);
    else if (this.first.since !== undefined) query.set('since', this.first.since);
    else if (this.first.from !== undefined) query.set('from', String(timeOf(this.first.from)));
    let token: string | undefined;
    const credential = this.options.credential;
    if (credential && 'token' in credential) token = credential.token;
    else if (credential) {
      try {
        const issued = await credential.getToken(this.channel);
        token = issued.token;
        this.scheduleRenewal(issued.expiresAt);
      } catch (error) {
        this.fail(new ClientError('token', `no token for ${this.channel}: ${(error as Error).message}`));
        return;
      }
      if (this.closed) return;
    }
    const target: Target = { base: this.options.url.replace(/\/+$/, ''), path: this.path, query, token };
    let announced = false;
    const handlers = {
      frame: (frame: unknown) => {
        if (!announced) {
          announced = true;
          this.status('open');
        }
        this.receive(frame);
      },
      malformed: () => this.malformed++,
      end: (ending: Ending) => this.ended(ending),
    };
    this.connection =
      this.kind === 'websocket'
        ? openWebSocket(target, this.options.createSocket ?? defaultSocket, handlers)
        : openEventStream(target, this.options.fetch ?? defaultFetch, handlers);
  }

  /** Renews a token before it expires: a reconnect with the new one resumes from the last id, so nothing is lost. */
  private scheduleRenewal(expiresAt: number | string | Date | undefined): void {
    if (this.renewal) clearTimeout(this.renewal);
    this.renewal = undefined;
    if (expiresAt === undefined) return;
    const left = timeOf(expiresAt) - Date.now();
    if (!Number.isFinite(left)) return;
    const before = this.options.renewBeforeMs ?? Math.max(5000, left * 0.1);
    this.renewal = setTimeout(
      () => {
        this.renewal = undefined;
        this.connection?.close();
        this.connection = undefined;
        void this.connect();
      },
      Math.max(0, left - before),
    );
  }

  private receive(frame: unknown): void {
    const kind = typeof frame === 'object' && frame !== null ? (frame as { kind?: unknown }).kind : undefined;
    if (typeof kind !== 'string' || !EVENT_KINDS.has(kind)) {
      this.malformed++;
      return;
    }
    switch (kind) {
      case 'event':
        this.deliver([frame]);
        break;
      case 'batch': {
        const events = (frame as { events?: unknown }).events;
        if (Array.isArray(events)) this.deliver(events);
        else this.malformed++;
        break;
      }
      case 'welcome':
        this.welcome(frame as WelcomeFrame);
        break;
      case 'snapshot': {
        const { id, data } = frame as { id?: unknown; data?: unknown };
        if (typeof id !== 'string') {
          this.malformed++;
          break;
        }
        this.lastId = id;
        for (const subscriber of [...this.subscribers]) subscriber.onSnapshot?.(data, id);
        break;
      }
      default:
        // pong; an error frame (WebSocket: a message the service did not take; SSE: the reason the stream ends).
        break;
    }
  }

  /** Whether a live subscriber may join: the connection started live, or its replay is over. */
  get live(): boolean {
    return this.start === 'live' || (this.welcomed && this.replayLeft <= 0);
  }

  private welcome(frame: WelcomeFrame): void {
    this.welcomed = true;
    this.replayLeft = frame.replayed;
    this.attempts = 0;
    if (frame.resumed && !frame.recovered) {
      const gap: Gap = {
        reason: frame.reason ?? 'history_exceeded',
        lastId: this.lastId,
        welcome: frame,
        ...(frame.from_reached === undefined ? {} : { fromReached: frame.from_reached }),
      };
      for (const subscriber of [...this.subscribers]) subscriber.onGap?.(gap);
    }
    // Nothing to replay: the live stream continues after `last_id`, so a reconnect before the first event resumes
    // there instead of joining live again (which would skip what was published in between).
    if (frame.replayed === 0) {
      this.lastId = frame.last_id;
      this.replayed();
    }
  }

  private replayed(): void {
    for (const subscriber of [...this.subscribers]) subscriber.onReplayed?.();
  }

  private deliver(items: unknown[]): void {
    const events = items.filter(isEvent);
    this.malformed += items.length - events.length;
    const last = events[events.length - 1];
    if (!last) return;
    this.lastId = last.id;
    const replaying = this.replayLeft > 0;
    this.replayLeft -= events.length;
    for (const subscriber of [...this.subscribers]) {
      if (subscriber.onEvents) subscriber.onEvents(events);
      else if (subscriber.onEvent) for (const event of events) subscriber.onEvent(event);
    }
    if (replaying && this.replayLeft <= 0) this.replayed();
  }

  private ended(ending: Ending): void {
    this.connection = undefined;
    if (this.closed) return;
    switch (ending.kind) {
      case 'refused':
        this.fail(ending.error);
        return;
      case 'token_expired':
        this.reconnects++;
        void this.connect();
        return;
      case 'position_refused': {
        const gap: Gap = { reason: 'resume_refused', lastId: this.lastId };
        this.lastId = undefined;
        for (const subscriber of [...this.subscribers]) subscriber.onGap?.(gap);
        this.schedule();
        return;
      }
      case 'retry':
        this.schedule(ending.retryAfterMs);
    }
  }

  /** Exponential backoff with jitter; never sooner than the service's Retry-After, spread over half of it again. */
  private schedule(retryAfterMs?: number): void {
    const { initialMs, maxMs } = this.options.backoff;
    const ceiling = Math.min(maxMs, initialMs * 2 ** this.attempts);
    const backoff = ceiling * (0.5 + Math.random() * 0.5);
    const delay = retryAfterMs === undefined ? backoff : Math.max(backoff, retryAfterMs * (1 + Math.random() * 0.5));
    this.attempts++;
    this.reconnects++;
    this.status('reconnecting');
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.connect();
    }, delay);
  }

  private fail(error: ClientError): void {
    const subscribers = [...this.subscribers];
    this.close();
    this.onIdle();
    for (const subscriber of subscribers) {
      subscriber.onError?.(error);
      subscriber.onStatus?.('closed');
    }
  }

  remove(subscriber: SubscribeOptions): void {
    this.subscribers.delete(subscriber);
    if (this.subscribers.size === 0) {
      this.close();
      this.onIdle();
    }
  }

  close(): void {
    this.closed = true;
    this.subscribers.clear();
    if (this.timer) clearTimeout(this.timer);
    if (this.renewal) clearTimeout(this.renewal);
    this.timer = undefined;
    this.renewal = undefined;
    this.connection?.close();
    this.connection = undefined;
  }
}

const defaultSocket: SocketFactory = (url, protocols) => {
  const WebSocketClass = (globalThis as { WebSocket?: new (url: string, protocols: string[]) => unknown }).WebSocket;
  if (!WebSocketClass) throw new ClientError('no_websocket', 'no global WebSocket here: pass createSocket (e.g. with the ws package)');
  return new WebSocketClass(url, protocols) as ReturnType<SocketFactory>;
};

const defaultFetch: FetchLike = (url, init) => globalThis.fetch(url, init);

export function createClient(options: ClientOptions): Client {
  const settings = { ...options, backoff: options.backoff ?? { initialMs: 500, maxMs: 15_000 } };
  const connections = new Set<ChannelConnection>();

  return {
    subscribe(channel: string, subscriber: SubscribeOptions): Subscription {
      if (subscriber.since !== undefined && subscriber.from !== undefined) {
        throw new ClientError('bad_request', 'subscribe with since or from, not both');
      }
      const paths = pathsOf(channel);
      const kind: TransportKind = paths.websocket === undefined ? 'sse' : (settings.transport ?? 'websocket');
      const start = startOf(subscriber);
      // Live subscribers join any connection of the channel; one that asks for a start point joins only a
      // connection with the same start that has not begun its replay yet.
      let connection = [...connections].find(
        (candidate) =>
          candidate.channel === channel && (start === 'live' ? candidate.live : candidate.start === start && !candidate.welcomed),
      );
      if (!connection) {
        const created: ChannelConnection = new ChannelConnection(
          channel,
          start,
          subscriber,
          kind === 'websocket' ? (paths.websocket as string) : paths.sse,
          kind,
          settings,
          () => connections.delete(created),
        );
        connection = created;
        connections.add(created);
        created.subscribers.add(subscriber);
        created.open();
      } else {
        connection.subscribers.add(subscriber);
        if (start === 'live' && connection.welcomed) subscriber.onReplayed?.();
      }
      const current = connection;
      let active = true;
      return {
        unsubscribe: () => {
          if (!active) return;
          active = false;
          current.remove(subscriber);
        },
        get lastId() {
          return current.lastId;
        },
        stats: () => ({ malformed: current.malformed, reconnects: current.reconnects }),
      };
    },
    close(): void {
      for (const connection of [...connections]) connection.close();
      connections.clear();
    },
    get connections() {
      return connections.size;
    },
  };
}
