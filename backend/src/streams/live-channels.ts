/**
 * Channels that other modules offer under a path prefix (`/ws/{prefix}/{name}`), such as one live channel per
 * dashboard. Modules register here; the WebSocket gateway and SSE resolve through here, so streams never depends on
 * the modules that use it.
 */
import { Injectable } from '@nestjs/common';
import type { Pool } from './connection-limits';
import type { Subscriber } from './fanout/subscriber';
import type { StartPoint } from './subscription-request';

export interface LiveChannel {
  /** The bus channel. */
  channel: string;
  /** A second connection pool the subscriber counts against, besides its transport's. */
  pool?: Exclude<Pool, 'websocket' | 'sse'>;
  compression?: boolean;
  /** The state a new subscriber starts from, sent as a `snapshot` frame after the welcome. */
  snapshot?: () => { id: string; data: unknown };
  /** The channel the snapshot frame names, when not the bus channel (a high-frequency stream's own name). */
  label?: string;
}

/**
 * Send the snapshot, then go live: the fan-out's `beforeLive` for a fresh subscriber of a live channel that has a
 * state. One that resumes (since, Last-Event-ID) already has the state, and one from a time replays history instead.
 */
export function snapshotFirst(live: LiveChannel, start: StartPoint): ((subscriber: Subscriber) => void) | undefined {
  const snapshot = live.snapshot;
  if (!snapshot || start.since !== undefined || start.from !== undefined) return undefined;
  return (subscriber) => {
    const { id, data } = snapshot();
    subscriber.control({ kind: 'snapshot', channel: live.label ?? live.channel, id, data }, id);
  };
}

export interface LiveChannelFamily {
  names(): readonly string[];
  resolve(name: string): LiveChannel | undefined;
}

@Injectable()
export class LiveChannelRegistry {
  private readonly families = new Map<string, LiveChannelFamily>();

  register(prefix: string, family: LiveChannelFamily): void {
    this.families.set(prefix, family);
  }

  family(prefix: string): LiveChannelFamily | undefined {
    return this.families.get(prefix);
  }
}
