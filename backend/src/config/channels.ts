/** Names of the bus channels the configuration defines, which transport may read which, and how much history each keeps. */
import type { AppConfig } from './config.schema';

export const HIGH_FREQUENCY_PREFIX = 'high_frequency.';

export const highFrequencyChannel = (stream: string): string => `${HIGH_FREQUENCY_PREFIX}${stream}`;

/** The bus channel behind an SSE path segment: an SSE stream name or a WebSocket channel name. */
export function sseSource(config: AppConfig, stream: string): string | undefined {
  if (config.sse.streams.includes(stream)) return config.sse.stream_sources[stream];
  // The notification stream is a bus channel of its own: only notifications routed to `sse` travel on it.
  if (config.real_time_notifications.enabled && stream === config.real_time_notifications.sse_stream) return stream;
  return config.websocket.channels.includes(stream) ? stream : undefined;
}

export const DASHBOARD_PREFIX = 'dashboard.';
export const dashboardChannel = (type: string): string => `${DASHBOARD_PREFIX}${type}`;
export function historySize(config: AppConfig, channel: string): number {
  if (channel.startsWith(HIGH_FREQUENCY_PREFIX)) return config.high_frequency_streams.buffer_size;
  if (channel.startsWith(DASHBOARD_PREFIX)) return Math.min(config.live_dashboard.history_size, config.service.history_size);
  return config.service.history_size;
}

/** Channels every instance derives for itself from the others: recomputed after a restart, never shared or stored. */
export const isDerivedChannel = (channel: string): boolean =>
  channel.startsWith(DASHBOARD_PREFIX) || channel.startsWith(HIGH_FREQUENCY_PREFIX);

/**
 * How a backlog of a channel may be merged for a subscriber that lags: high-frequency ticks by their values' keys,
 * dashboard updates by panel; other channels carry events that each count, and are never merged.
 */
export function conflationOf(channel: string): 'values' | 'panels' | undefined {
  if (channel.startsWith(HIGH_FREQUENCY_PREFIX)) return 'values';
  if (channel.startsWith(DASHBOARD_PREFIX)) return 'panels';
  return undefined;
}
