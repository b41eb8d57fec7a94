/** Test data: events as a producer would publish them, notifications as the outbox stores them, bus settings. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BusOptions } from '../../src/bus/bus.port';
import type { Retention } from '../../src/bus/channel-log';
import type { Notification } from '../../src/notifications/notification';

let counter = 0;

export interface TestEvent {
  channel: string;
  type: string;
  timestamp?: string;
  key?: string;
  data: unknown;
}

export function event(overrides: Partial<TestEvent> = {}): TestEvent {
  counter++;
  return {
    channel: 'metrics_updates',
    type: 'test.event',
    data: {
      sequence: counter,
      model: 'llama-3.1-8b-instruct',
      latency_ms: 123.5,
      tags: ['a', 'b'],
      note: 'naïve café ☕',
      nested: { ok: true, none: null },
    },
    ...overrides,
  };
}

export function events(count: number, overrides: Partial<TestEvent> = {}): TestEvent[] {
  return Array.from({ length: count }, () => event(overrides));
}

/** A notification as the service stores it in the outbox, keyed `key`, with id `id-<key>`. */
/** The id of `storedNotification(key)`: a UUID, as the service makes them, that orders as its key does. */
export const notificationId = (key: string): string =>
  `00000000-0000-4000-8000-${Buffer.from(key).toString('hex').padStart(12, '0').slice(-12)}`;

export function storedNotification(key: string, priority: Notification['priority'] = 'info'): Notification {
  return {
    id: notificationId(key),
    idempotency_key: key,
    type: 'test',
    status: 'info',
    priority,
    title: 't',
    message: 'm',
    labels: {},
    created_at: new Date(0).toISOString(),
    channels: ['websocket', 'email'],
  };
}

/** Bus settings: `capacity` messages per channel, no byte or age bound unless given, idempotency for 5 minutes. */
export function busOptions(capacity: number, retention: Partial<Retention> = {}): BusOptions {
  return {
    retention: () => ({ capacity, maxBytes: Number.MAX_SAFE_INTEGER, maxAgeMs: Number.MAX_SAFE_INTEGER, ...retention }),
    idempotency: { windowMs: 300_000, maxKeys: 1000 },
  };
}

/** A fresh directory under the system's temporary one. */
export const tempDir = (): string => mkdtempSync(join(tmpdir(), 'dsa-spec-'));
