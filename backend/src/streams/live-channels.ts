/**
 * Channels that other modules offer under a path prefix (`/ws/{prefix}/{name}`), such as one live channel per
 * dashboard. Modules register here; the WebSocket gateway and SSE resolve through here, so streams never depends on
 * the modules that use it.
 */
import { Injectable } from '@nestjs/common';
import type { Pool } from './connection-registry';

export interface LiveChannel {
  /** The bus channel. */
  channel: string;
  /** A second connection pool the subscriber counts against, besides its transport's. */
  pool?: Exclude<Pool, 'websocket' | 'sse'>;
  compression?: boolean;
  /** The state a new subscriber starts from, sent as a `snapshot` frame after the welcome. */
  snapshot?: () => { id: string; data: unknown };
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
