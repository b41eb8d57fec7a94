/** Test data: events as a producer would publish them. */
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
