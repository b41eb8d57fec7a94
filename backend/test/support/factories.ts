/** Test data: events as a producer would publish them, notifications as the outbox stores them. */
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
export function storedNotification(key: string, priority: Notification['priority'] = 'info'): Notification {
  return {
    id: `id-${key}`,
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
