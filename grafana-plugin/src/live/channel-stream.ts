/**
 * A channel of the service as a panel's frame: it opens with the panel's time range from the service's history
 * (a subscription `from` the range's start: history, then live events, joined by the service with no gap and no
 * duplicate), keeps at most the panel's max data points, reaches further back when the range grows (GET
 * /streams/{channel}/history, put in front of the rows it has), and says on the panel when history does not reach
 * the range's start, when events may be missing, when the service refuses the query, and how fresh its data is.
 */
import type { QueryResultMetaNotice } from '@grafana/data';
import type { Client, Gap, Subscription } from '@data-streaming/client';
import type { HistoryPage } from '@data-streaming/protocol';
import type { DataStreamingQuery, WireEvent } from '../types';
import { LiveFrame, eventFilter, eventRows, type Row } from './frames';
import { Freshness } from './freshness';
import type { HttpClient, HttpResponse } from './http';
import type { SharedStream } from './shared-streams';

/** Pages of history read at most to fill one range (1,000 events a page). */
const MAX_HISTORY_PAGES = 20;

export interface StreamContext {
  client: Client;
  http: HttpClient;
  /** The service's HTTP base (through Grafana's proxy or direct) and the headers of its calls. */
  base: string;
  headers: Record<string, string>;
}

/** A stream query after template variables: one channel, its filters and fields as they are. */
export type ChannelQuery = DataStreamingQuery & { channel: string };

const time = (ms: number) => new Date(ms).toISOString();

/** Rows of `channel`'s history in [from, to], newest first until `limit` rows matched; returned oldest first. */
export async function historyRows(
  context: StreamContext,
  query: ChannelQuery,
  from: number,
  to: number | undefined,
  limit: number
): Promise<{ rows: Row[]; reachedFrom: number | undefined }> {
  const matches = eventFilter(query.filters);
  const rows: Row[] = [];
  let cursor: string | null = null;
  let reachedFrom: number | undefined = from;
  for (let page = 0; page < MAX_HISTORY_PAGES && rows.length < limit; page++) {
    const params: URLSearchParams = new URLSearchParams(
      cursor ? { cursor, limit: '1000' } : { from: time(from), order: 'desc', limit: '1000' }
    );
    if (!cursor && to !== undefined) {
      params.set('to', time(to));
    }
    const response: HttpResponse<HistoryPage & { message?: string }> = await context.http.get<
      HistoryPage & { message?: string }
    >(`${context.base}/streams/${encodeURIComponent(query.channel)}/history?${params}`, context.headers);
    if (response.status !== 200) {
      throw new Error(
        `${query.channel}: history: HTTP ${response.status}${response.data?.message ? `: ${response.data.message}` : ''}`
      );
    }
    const body: HistoryPage = response.data;
    if (!body.from_reached) {
      reachedFrom = body.oldest ? Date.parse(body.oldest.accepted_at) : undefined;
    }
    rows.push(...eventRows(body.events, query, matches));
    cursor = body.next_cursor;
    if (!cursor) {
      break;
    }
  }
  return { rows: rows.slice(0, limit).reverse(), reachedFrom };
}

export class ChannelStream implements SharedStream {
  changed: () => void = () => undefined;
  readonly live: LiveFrame;
  readonly freshness = new Freshness();
  /** The time from which the rows are complete (the start of the range history reached). */
  coveredFrom: number;
  /** Where the service's history began when it last said so: reaching further back is pointless. */
  private historyBegins: number | undefined;
  /** A refusal that a retry will not cure: the panel shows it as its error. */
  error: string | undefined;
  /** Whether the history of the range has been delivered (what follows is live): the panel's first frame waits for it. */
  replayed = false;
  readonly openedAt = Date.now();
  private readonly notices = new Map<'gap' | 'reach' | 'history', QueryResultMetaNotice>();
  private readonly subscription: Subscription;
  private readonly matches: (event: WireEvent) => boolean;
  private extending: Promise<void> | undefined;

  constructor(
    private readonly context: StreamContext,
    readonly query: ChannelQuery,
    readonly capacity: number,
    from: number
  ) {
    this.live = new LiveFrame(query.refId, capacity, query.windowSeconds);
    this.coveredFrom = from;
    this.matches = eventFilter(query.filters);
    this.subscription = context.client.subscribe(query.channel, {
      from,
      onEvents: (events) => this.receive(events),
      onGap: (gap) => this.gap(gap),
      onReplayed: () => {
        this.replayed = true;
        this.changed();
      },
      onError: (error) => {
        this.error = `${query.channel}: ${error.message}`;
        this.changed();
      },
    });
  }

  private receive(events: WireEvent[]): void {
    const rows = eventRows(events, this.query, this.matches);
    if (rows.length === 0) {
      return;
    }
    const now = Date.now();
    for (const row of rows) {
      this.freshness.saw(row.time, now);
    }
    this.error = undefined;
    this.live.append(rows);
    this.changed();
  }

  private gap(gap: Gap): void {
    if (gap.reason === 'history_exceeded' && gap.fromReached !== undefined && !gap.lastId) {
      // The first replay: history begins after the range's start.
      this.coveredFrom = Date.parse(gap.fromReached);
      this.historyBegins = this.coveredFrom;
      this.notices.set('reach', {
        severity: 'info',
        text: `History of ${this.query.channel} reaches back to ${gap.fromReached} only, after the start of the time range.`,
      });
    } else {
      const why =
        gap.reason === 'epoch_changed'
          ? 'the service lost its history (a restart without durable history)'
          : 'the gap was longer than its history';
      this.notices.set('gap', {
        severity: 'warning',
        text: `Events of ${this.query.channel} may be missing: ${why} (resumed at ${gap.welcome?.last_id ?? 'the newest event'}).`,
      });
    }
    this.changed();
  }

  /** Makes the rows reach back to `from` (a range that grew): history before the first row is put in front. */
  extendTo(from: number): void {
    if (
      from >= this.coveredFrom ||
      this.extending ||
      (this.historyBegins !== undefined && this.coveredFrom <= this.historyBegins)
    ) {
      return;
    }
    const until = this.live.firstTime ?? Date.now();
    this.extending = historyRows(this.context, this.query, from, until, this.capacity - this.live.length)
      .then(({ rows, reachedFrom }) => {
        this.live.prepend(rows);
        for (const row of rows) {
          this.freshness.saw(row.time);
        }
        this.coveredFrom = reachedFrom ?? from;
        if (reachedFrom !== undefined && reachedFrom > from) {
          this.historyBegins = reachedFrom;
          this.notices.set('reach', {
            severity: 'info',
            text: `History of ${this.query.channel} reaches back to ${time(reachedFrom)} only, after the start of the time range.`,
          });
        } else {
          this.notices.delete('reach');
        }
        this.notices.delete('history');
      })
      .catch((error: Error) => {
        this.notices.set('history', { severity: 'warning', text: `Older events could not be read: ${error.message}` });
      })
      .finally(() => {
        this.extending = undefined;
        this.changed();
      });
  }

  /** The panel's notices: gaps, the reach of history, and freshness. */
  panelNotices(staleAfterMs: number, now = Date.now()): QueryResultMetaNotice[] {
    return [...this.notices.values(), this.freshness.notice(this.query.channel, staleAfterMs, now)];
  }

  stats(): { malformed: number; reconnects: number } {
    return this.subscription.stats();
  }

  close(): void {
    this.subscription.unsubscribe();
  }
}
