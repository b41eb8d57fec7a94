import { Logger } from '@nestjs/common';
import { loadConfig } from '../../config/config.loader';
import { MetricStore } from '../../metric-store/metric-store';
import type { MetricStoreService } from '../../metric-store/metric-store.service';
import { LeadershipService } from '../../redis/leadership.service';
import type { NewNotification } from '../notification';
import type { NotificationsService } from '../notifications.service';
import { RuleEngineService } from './rule-engine.service';

/**
 * Records what the engine asks to send; the engine's state machine is what is under test. Without Redis this instance
 * always leads; `leadership` stands in for a cluster where it may not.
 */
function engineWith(
  rule: { condition: string; for?: number; cooldown?: number },
  leadership: Pick<LeadershipService, 'isLeader'> = new LeadershipService(null),
) {
  const config = loadConfig({
    env: {},
    overrides: {
      real_time_notifications: {
        notification_rules: [
          {
            name: 'r',
            condition: rule.condition,
            channel: 'websocket',
            priority: 'warning',
            for: rule.for ?? 0,
            cooldown: rule.cooldown ?? 0,
          },
        ],
      },
    },
  });
  const store = new MetricStore({ windowMs: 60_000, staleAfterMs: 10_000, maxSeries: 100, maxSamplesPerSeries: 100 }, [
    'error_rate',
    'latency',
  ]);
  const sent: NewNotification[] = [];
  const notifications = {
    accept: (input: NewNotification) => {
      sent.push(input);
      return Promise.resolve({ id: String(sent.length), deduplicated: false, channels: [] });
    },
  };
  const engine = new RuleEngineService(
    config,
    store as unknown as MetricStoreService,
    notifications as unknown as NotificationsService,
    leadership as LeadershipService,
  );
  return { engine, store, sent, statuses: () => sent.map((item) => item.status) };
}

describe('RuleEngineService', () => {
  const t0 = 1_800_000_000_000;
  beforeAll(() => Logger.overrideLogger(false));

  it('fires once while the condition holds and resolves when it clears, with the values', () => {
    const { engine, store, sent, statuses } = engineWith({ condition: 'error_rate > 0.2' });
    store.record('error_rate', 'cluster', 0.3, t0);
    engine.evaluate(t0);
    engine.evaluate(t0 + 1000);
    expect(statuses()).toEqual(['firing']);
    expect(sent[0]).toMatchObject({ priority: 'warning', channel: 'websocket', rule: { name: 'r', values: { error_rate: 0.3 } } });
    store.record('error_rate', 'cluster', 0.1, t0 + 2000);
    engine.evaluate(t0 + 2000);
    expect(statuses()).toEqual(['firing', 'resolved']);
    expect(sent[1]?.idempotency_key).toBe(sent[0]?.idempotency_key?.replace(/firing$/, 'resolved'));
  });

  it('waits for `for` before firing, and forgets a condition that clears before', () => {
    const { engine, store, statuses } = engineWith({ condition: 'latency > 2000', for: 5 });
    store.record('latency', 'cluster', 2500, t0);
    engine.evaluate(t0);
    engine.evaluate(t0 + 4000);
    expect(statuses()).toEqual([]);
    store.record('latency', 'cluster', 100, t0 + 4500);
    engine.evaluate(t0 + 4500);
    store.record('latency', 'cluster', 2500, t0 + 5000);
    engine.evaluate(t0 + 5000);
    engine.evaluate(t0 + 9000);
    expect(statuses()).toEqual([]);
    engine.evaluate(t0 + 10_000);
    expect(statuses()).toEqual(['firing']);
  });

  it('does not fire again within the cooldown when the metric flaps', () => {
    const { engine, store, statuses } = engineWith({ condition: 'error_rate > 0.2', cooldown: 60 });
    for (let second = 0; second < 50; second++) {
      store.record('error_rate', 'cluster', second % 2 === 0 ? 0.5 : 0.1, t0 + second * 1000);
      engine.evaluate(t0 + second * 1000);
    }
    expect(statuses()).toEqual(['firing', 'resolved']);
    store.record('error_rate', 'cluster', 0.5, t0 + 61_000);
    engine.evaluate(t0 + 61_000);
    expect(statuses()).toEqual(['firing', 'resolved', 'firing']);
  });

  it('resolves a firing rule when its metric goes stale, as an absent series', () => {
    const { engine, store, statuses } = engineWith({ condition: 'error_rate > 0.2' });
    store.record('error_rate', 'cluster', 0.9, t0);
    engine.evaluate(t0);
    engine.evaluate(t0 + 11_000);
    expect(statuses()).toEqual(['firing', 'resolved']);
  });

  it('reads a metric with several series as its highest current value', () => {
    const { engine, store, statuses } = engineWith({ condition: 'error_rate > 0.2' });
    store.record('error_rate', 'model-a', 0.01, t0);
    store.record('error_rate', 'model-b', 0.4, t0);
    engine.evaluate(t0);
    expect(statuses()).toEqual(['firing']);
  });

  it('evaluates only while this instance leads, and starts afresh when it leads again', () => {
    const leadership = { isLeader: false };
    const { engine, store, statuses } = engineWith({ condition: 'error_rate > 0.2', for: 5 }, leadership);
    store.record('error_rate', 'cluster', 0.9, t0);
    engine.evaluate(t0);
    engine.evaluate(t0 + 6000);
    expect(statuses()).toEqual([]);
    expect(engine.states()[0]?.state).toBe('inactive');

    leadership.isLeader = true;
    store.record('error_rate', 'cluster', 0.9, t0 + 7000);
    engine.evaluate(t0 + 7000);
    engine.evaluate(t0 + 12_000);
    expect(statuses()).toEqual(['firing']);

    // Another instance takes over: this one forgets the firing, so it cannot resolve it later on its own.
    leadership.isLeader = false;
    engine.evaluate(t0 + 13_000);
    expect(engine.states()[0]?.state).toBe('inactive');
    leadership.isLeader = true;
    store.record('error_rate', 'cluster', 0.1, t0 + 14_000);
    engine.evaluate(t0 + 14_000);
    expect(statuses()).toEqual(['firing']);
  });
});
