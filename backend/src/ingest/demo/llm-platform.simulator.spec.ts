import { publishEventSchemaFor } from '@data-streaming/protocol';
import { LlmPlatformSimulator } from './llm-platform.simulator';

const CHANNELS = ['metrics_updates', 'system_alerts', 'business_events', 'performance_data'];

describe('LlmPlatformSimulator', () => {
  it('produces valid events on every channel, with believable figures, for ten simulated minutes', () => {
    const simulator = new LlmPlatformSimulator(42);
    const schema = publishEventSchemaFor(CHANNELS);
    const start = Date.UTC(2026, 10, 26, 12);
    const perChannel = new Map<string, number>();
    const types = new Set<string>();
    for (let second = 0; second < 600; second++) {
      for (const event of simulator.tick(new Date(start + second * 1000))) {
        expect(schema.safeParse(event).success).toBe(true);
        perChannel.set(event.channel, (perChannel.get(event.channel) ?? 0) + 1);
        types.add(event.type);
        if (event.type === 'llm.metrics') {
          const data = event.data as { error_rate: number; request_rate: number; latency: number };
          expect(data.error_rate).toBeGreaterThanOrEqual(0);
          expect(data.error_rate).toBeLessThan(1);
          expect(data.request_rate).toBeGreaterThan(100);
          expect(data.latency).toBeGreaterThan(0);
        }
      }
    }
    expect([...perChannel.keys()].sort()).toEqual([...CHANNELS].sort());
    expect(perChannel.get('metrics_updates')).toBe(600 * 6);
    expect(types).toEqual(
      new Set([
        'llm.metrics',
        'llm.model_metrics',
        'node.resources',
        'llm.request.completed',
        'component.status',
        'tenant.quota_warning',
        'alert.firing',
        'alert.resolved',
      ]),
    );
  });

  it('is deterministic for a seed', () => {
    const at = new Date(Date.UTC(2026, 0, 1));
    expect(new LlmPlatformSimulator(7).tick(at)).toEqual(new LlmPlatformSimulator(7).tick(at));
  });
});
