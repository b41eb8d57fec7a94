/**
 * Shared live connections: panels on the same channel share one WebSocket. A connection reconnects with exponential
 * backoff and jitter, resuming from the last event id it saw (`?since=`), so a panel shows no gap; when the service
 * says history no longer covers the gap, listeners get a notice. A connection the service refuses for now (close
 * 1013 Try Again Later: its rate or connection limit, a restart; a browser cannot read the HTTP 429 or 503 of a
 * refused upgrade) waits the Retry-After the close reason carries, plus jitter, so a wave of panels spreads out. A malformed frame is skipped and counted. When the
 * last listener leaves, the socket is closed and every timer cleared.
 */
import type { ServerFrame, WireEvent } from '../types';

/** The part of the browser WebSocket API used here (the `ws` package offers the same in Node). */
export interface SocketLike {
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  readonly readyState: number;
  close(code?: number, reason?: string): void;
}

export type SocketFactory = (url: string) => SocketLike;

export interface ChannelListener {
  onEvents(events: WireEvent[]): void;
  /** A frame that is not an event: a snapshot (live dashboards). */
  onSnapshot?(data: unknown, id: string): void;
  onNotice?(text: string): void;
  onStatus?(status: 'connecting' | 'open' | 'reconnecting'): void;
}

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
}

const OPEN = 1;
/** The service's close code for a connection refused for now; its reason is `{"code", "retry_after_seconds"}`. */
export const CLOSE_TRY_AGAIN_LATER = 1013;

/** The Retry-After (ms) of a 1013 close, undefined for any other close. */
export function retryAfterOf(event: { code: number; reason: string }): number | undefined {
  if (event.code !== CLOSE_TRY_AGAIN_LATER) {
    return undefined;
  }
  try {
    const seconds = (JSON.parse(event.reason) as { retry_after_seconds?: unknown }).retry_after_seconds;
    return typeof seconds === 'number' && seconds >= 0 ? seconds * 1000 : 1000;
  } catch {
    return 1000;
  }
}

class ChannelConnection {
  readonly listeners = new Set<ChannelListener>();
  private socket: SocketLike | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private attempts = 0;
  private closed = false;
  lastId: string | undefined;
  malformed = 0;
  reconnects = 0;

  constructor(
    private readonly url: string,
    private readonly createSocket: SocketFactory,
    private readonly backoff: BackoffPolicy,
    private readonly onIdle: () => void
  ) {}

  start(): void {
    this.connect();
  }

  private connect(): void {
    if (this.closed) {
      return;
    }
    const url = this.lastId
      ? `${this.url}${this.url.includes('?') ? '&' : '?'}since=${encodeURIComponent(this.lastId)}`
      : this.url;
    this.each((listener) => listener.onStatus?.(this.attempts === 0 ? 'connecting' : 'reconnecting'));
    const socket = this.createSocket(url);
    this.socket = socket;
    socket.onopen = () => {
      this.attempts = 0;
      this.each((listener) => listener.onStatus?.('open'));
    };
    socket.onmessage = (message) => this.receive(message.data);
    socket.onerror = () => undefined;
    socket.onclose = (event) => {
      if (this.socket !== socket || this.closed) {
        return;
      }
      this.socket = undefined;
      this.scheduleReconnect(retryAfterOf(event));
    };
  }

  /** Exponential backoff with jitter; never sooner than the service's Retry-After, spread over half of it again. */
  private scheduleReconnect(retryAfterMs?: number): void {
    const ceiling = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** this.attempts);
    const backoff = ceiling * (0.5 + Math.random() * 0.5);
    const delay = retryAfterMs === undefined ? backoff : Math.max(backoff, retryAfterMs * (1 + Math.random() * 0.5));
    this.attempts++;
    this.reconnects++;
    this.each((listener) => listener.onStatus?.('reconnecting'));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.connect();
    }, delay);
  }

  private receive(raw: unknown): void {
    let frame: ServerFrame;
    try {
      frame = JSON.parse(typeof raw === 'string' ? raw : String(raw)) as ServerFrame;
      if (typeof frame !== 'object' || frame === null || typeof frame.kind !== 'string') {
        throw new Error('not a frame');
      }
    } catch {
      this.malformed++;
      return;
    }
    switch (frame.kind) {
      case 'event':
        this.deliver([frame]);
        break;
      case 'batch':
        if (Array.isArray(frame.events)) {
          this.deliver(frame.events);
        } else {
          this.malformed++;
        }
        break;
      case 'welcome':
        if (frame.resumed && !frame.recovered) {
          const why =
            frame.reason === 'epoch_changed' ? 'the service restarted' : 'the gap was longer than its history';
          this.each((listener) => listener.onNotice?.(`Events may be missing: ${why} (resumed at ${frame.last_id}).`));
        }
        break;
      case 'snapshot':
        this.lastId = frame.id;
        this.each((listener) => listener.onSnapshot?.(frame.data, frame.id));
        break;
      case 'error':
      case 'pong':
        break;
      default:
        this.malformed++;
    }
  }

  private deliver(events: WireEvent[]): void {
    const valid = events.filter((event) => typeof event?.id === 'string' && typeof event.timestamp === 'string');
    this.malformed += events.length - valid.length;
    if (valid.length === 0) {
      return;
    }
    this.lastId = valid[valid.length - 1].id;
    this.each((listener) => listener.onEvents(valid));
  }

  private each(call: (listener: ChannelListener) => void): void {
    for (const listener of [...this.listeners]) {
      call(listener);
    }
  }

  remove(listener: ChannelListener): void {
    this.listeners.delete(listener);
    if (this.listeners.size === 0) {
      this.close();
      this.onIdle();
    }
  }

  close(): void {
    this.closed = true;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const socket = this.socket;
    this.socket = undefined;
    if (socket) {
      socket.onclose = null;
      socket.onmessage = null;
      if (socket.readyState <= OPEN) {
        socket.close(1000, 'unsubscribed');
      }
    }
  }
}

export class ChannelHub {
  private readonly connections = new Map<string, ChannelConnection>();

  constructor(
    private readonly createSocket: SocketFactory,
    private readonly backoff: BackoffPolicy = { initialMs: 500, maxMs: 15_000 }
  ) {}

  /** Listens to the live channel at `url`; returns the function that stops listening. */
  subscribe(
    url: string,
    listener: ChannelListener
  ): { unsubscribe: () => void; stats: () => { malformed: number; reconnects: number } } {
    let connection = this.connections.get(url);
    const fresh = !connection;
    if (!connection) {
      connection = new ChannelConnection(url, this.createSocket, this.backoff, () => this.connections.delete(url));
      this.connections.set(url, connection);
    }
    connection.listeners.add(listener);
    if (fresh) {
      connection.start();
    }
    const current = connection;
    let active = true;
    return {
      unsubscribe: () => {
        if (active) {
          active = false;
          current.remove(listener);
        }
      },
      stats: () => ({ malformed: current.malformed, reconnects: current.reconnects }),
    };
  }

  /** Open shared connections (for tests and diagnostics). */
  get size(): number {
    return this.connections.size;
  }
}
