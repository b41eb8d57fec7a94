/**
 * Polls one upstream on an interval, each request bounded by a timeout; after failures it backs off exponentially
 * (with jitter) up to a ceiling, and it always knows its own state for /health.
 */
import { redactText, redactUrl } from '../../common/redact';

export { redactText, redactUrl };

export type UpstreamStatus = 'starting' | 'up' | 'down';

export interface UpstreamState {
  name: string;
  /** The endpoint without credentials, safe to show. */
  endpoint: string;
  status: UpstreamStatus;
  last_success?: string;
  last_error?: string;
  consecutive_failures: number;
  next_poll_in_ms?: number;
}

export interface PollerOptions {
  name: string;
  endpoint: string;
  intervalMs: number;
  timeoutMs: number;
  maxBackoffMs: number;
  poll: (signal: AbortSignal) => Promise<void>;
  onResult?: (ok: boolean) => void;
  /** The upstream went down or came back (not called for every poll): its state after the change. */
  onChange?: (state: Readonly<UpstreamState>, previous: UpstreamState['status']) => void;
}

/** A URL's userinfo as an Authorization header, since fetch refuses URLs that carry credentials. */
export function withCredentials(url: string): { url: string; headers: Record<string, string> } {
  const parsed = new URL(url);
  if (!parsed.username && !parsed.password) return { url, headers: {} };
  const credentials = `${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`;
  parsed.username = '';
  parsed.password = '';
  return { url: parsed.toString(), headers: { authorization: `Basic ${Buffer.from(credentials).toString('base64')}` } };
}

export class UpstreamPoller {
  private timer: NodeJS.Timeout | undefined;
  private nextAt = 0;
  private stopped = false;
  readonly state: UpstreamState;

  constructor(private readonly options: PollerOptions) {
    this.state = { name: options.name, endpoint: redactUrl(options.endpoint), status: 'starting', consecutive_failures: 0 };
  }

  start(): void {
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  snapshot(): UpstreamState {
    return { ...this.state, next_poll_in_ms: Math.max(0, this.nextAt - Date.now()) };
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.nextAt = Date.now() + delayMs;
    this.timer = setTimeout(() => void this.run(), delayMs);
    this.timer.unref();
  }

  private async run(): Promise<void> {
    const { intervalMs, timeoutMs, maxBackoffMs } = this.options;
    const previous = this.state.status;
    try {
      await this.options.poll(AbortSignal.timeout(timeoutMs));
      this.state.status = 'up';
      this.state.last_success = new Date().toISOString();
      this.state.consecutive_failures = 0;
      delete this.state.last_error;
      this.options.onResult?.(true);
      if (previous === 'down') this.options.onChange?.(this.state, previous);
      this.schedule(intervalMs);
    } catch (error) {
      this.state.status = 'down';
      this.state.consecutive_failures++;
      const { name, message, cause } = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
      // fetch says only "fetch failed"; why (ECONNREFUSED, ENOTFOUND, a TLS error) is in its cause.
      const why = cause?.code ?? cause?.message;
      const reason = name === 'TimeoutError' ? `timed out after ${timeoutMs} ms` : `${String(message ?? error)}${why ? `: ${why}` : ''}`;
      this.state.last_error = redactText(reason).slice(0, 200);
      this.options.onResult?.(false);
      if (previous !== 'down') this.options.onChange?.(this.state, previous);
      const backoff = Math.min(maxBackoffMs, intervalMs * 2 ** Math.min(this.state.consecutive_failures, 16));
      this.schedule(backoff * (0.8 + Math.random() * 0.4));
    }
  }
}
