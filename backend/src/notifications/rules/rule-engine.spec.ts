import { Logger } from '@nestjs/common';
import { join } from 'node:path';
import { tempDataDir } from '../../../test/support/app';
import { loadConfig } from '../../config/config.loader';
import { MetricStore } from '../../metric-store/metric-store';
import type { MetricStoreService } from '../../metric-store/metric-store.service';
import { LeadershipService } from '../../redis/leadership.service';
import type { NewNotification } from '../notification';
import type { NotificationsService } from '../notifications.service';
import { RuleEngineService } from './rule-engine.service';
import { SqliteRuleStates } from './rule-state.store';

/**
 * Records what the engine asks to send; the engine's state machine is what is under test, with its state saved in a
 * real SQLite file (`statePath`: a second engine on the same file is the service after a restart). Without Redis
 * this instance always leads; `leadership` stands in for a cluster where it may not.
 */
function engineWith(
  rule: { condition: string; for?: number; cooldown?: number },
  leadership: Pick<LeadershipService, 'isLeader'> = new LeadershipService(null),
  statePath = join(tempDataDir(), 'notifications.sqlite'),
  store = new MetricStore({ windowMs: 60_000, staleAfterMs: 10_000, maxSeries: 100, maxSamplesPerSeries: 100 }, ['error_rate', 'latency']),
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
  const sent: NewNotification[] = [];
  const outbox = { down: false };
  const notifications = {
    accept: (input: NewNotification) => {
      if (outbox.down) return Promise.reject(new Error('the notification outbox cannot be reached'));
      sent.push(input);
      return Promise.resolve({ id: String(sent.length), deduplicated: false, channels: [] });
    },
  };
  const saved = new SqliteRuleStates(statePath, 2048);
  const engine = new RuleEngineService(
    config,
    standIn<MetricStoreService>(store),
    standIn<NotificationsService>(notifications),
    standIn<LeadershipService>(leadership),
    saved,
  );
  return { engine, store, sent, outbox, statePath, saved, statuses: () => sent.map((item) => item.status) };
}

/** A collaborator of the rule engine with only what the engine calls (the engine is what these specs test). */
const standIn = <T>(partial: Partial<T>): T => partial as T;

describe('RuleEngineService', () => {
  const t0 = 1_800_000_000_000;
  beforeAll(() => Logger.overrideLogger(false));

  it('fires once while the condition holds and resolves when it clears, with the values', async () => {
    const { engine, store, sent, statuses } = engineWith({ condition: 'error_rate > 0.2' });
    store.record('error_rate', 'cluster', 0.3, t0);
    await engine.evaluate(t0);
    await engine.evaluate(t0 + 1000);
    expect(statuses()).toEqual(['firing']);
    expect(sent[0]).toMatchObject({ priority: 'warning', channel: 'websocket', rule: { name: 'r', values: { error_rate: 0.3 } } });
    store.record('error_rate', 'cluster', 0.1, t0 + 2000);
    await engine.evaluate(t0 + 2000);
    expect(statuses()).toEqual(['firing', 'resolved']);
    expect(sent[1]?.idempotency_key).toBe(sent[0]?.idempotency_key?.replace(/firing$/, 'resolved'));
  });

  it('waits for `for` before firing, and forgets a condition that clears before', async () => {
    const { engine, store, statuses } = engineWith({ condition: 'latency > 2000', for: 5 });
    store.record('latency', 'cluster', 2500, t0);
    await engine.evaluate(t0);
    await engine.evaluate(t0 + 4000);
    expect(statuses()).toEqual([]);
    store.record('latency', 'cluster', 100, t0 + 4500);
    await engine.evaluate(t0 + 4500);
    store.record('latency', 'cluster', 2500, t0 + 5000);
    await engine.evaluate(t0 + 5000);
    await engine.evaluate(t0 + 9000);
    expect(statuses()).toEqual([]);
    await engine.evaluate(t0 + 10_000);
    expect(statuses()).toEqual(['firing']);
  });

  it('does not fire again within the cooldown when the metric flaps', async () => {
    const { engine, store, statuses } = engineWith({ condition: 'error_rate > 0.2', cooldown: 60 });
    for (let second = 0; second < 50; second++) {
      store.record('error_rate', 'cluster', second % 2 === 0 ? 0.5 : 0.1, t0 + second * 1000);
      await engine.evaluate(t0 + second * 1000);
    }
    expect(statuses()).toEqual(['firing', 'resolved']);
    store.record('error_rate', 'cluster', 0.5, t0 + 61_000);
    await engine.evaluate(t0 + 61_000);
    expect(statuses()).toEqual(['firing', 'resolved', 'firing']);
  });

  it('resolves a firing rule when its metric goes stale, as an absent series', async () => {
    const { engine, store, statuses } = engineWith({ condition: 'error_rate > 0.2' });
    store.record('error_rate', 'cluster', 0.9, t0);
    await engine.evaluate(t0);
    await engine.evaluate(t0 + 11_000);
    expect(statuses()).toEqual(['firing', 'resolved']);
  });

  it('reads a metric with several series as its highest current value', async () => {
    const { engine, store, statuses } = engineWith({ condition: 'error_rate > 0.2' });
    store.record('error_rate', 'model-a', 0.01, t0);
    store.record('error_rate', 'model-b', 0.4, t0);
    await engine.evaluate(t0);
    expect(statuses()).toEqual(['firing']);
  });

  it('evaluates only while this instance leads, and carries on from the saved state when it leads again', async () => {
    const leadership = { isLeader: false };
    const { engine, store, statuses } = engineWith({ condition: 'error_rate > 0.2', for: 5 }, leadership);
    store.record('error_rate', 'cluster', 0.9, t0);
    await engine.evaluate(t0);
    await engine.evaluate(t0 + 6000);
    expect(statuses()).toEqual([]);
    expect(engine.states()[0]?.state).toBe('inactive');

    leadership.isLeader = true;
    store.record('error_rate', 'cluster', 0.9, t0 + 7000);
    await engine.evaluate(t0 + 7000);
    await engine.evaluate(t0 + 12_000);
    expect(statuses()).toEqual(['firing']);

    // Another instance leads for a while; this one shows nothing of its own, and when it leads again it reads the
    // saved state (still firing): the condition has cleared, so it resolves the episode, once.
    leadership.isLeader = false;
    await engine.evaluate(t0 + 13_000);
    expect(engine.states()[0]?.state).toBe('inactive');
    leadership.isLeader = true;
    store.record('error_rate', 'cluster', 0.1, t0 + 14_000);
    await engine.evaluate(t0 + 14_000);
    await engine.evaluate(t0 + 15_000);
    expect(statuses()).toEqual(['firing', 'resolved']);
  });

  describe('across a restart (the same state file, a new engine)', () => {
    it('does not fire again for an alert already firing, keeps the cooldown, and resolves once', async () => {
      const first = engineWith({ condition: 'error_rate > 0.2', cooldown: 60 });
      first.store.record('error_rate', 'cluster', 0.5, t0);
      await first.engine.evaluate(t0);
      expect(first.statuses()).toEqual(['firing']);
      first.saved.close();

      const second = engineWith({ condition: 'error_rate > 0.2', cooldown: 60 }, undefined, first.statePath);
      second.store.record('error_rate', 'cluster', 0.5, t0 + 10_000);
      await second.engine.evaluate(t0 + 10_000);
      expect(second.statuses()).toEqual([]);
      expect(second.engine.states()[0]?.state).toBe('firing');
      second.store.record('error_rate', 'cluster', 0.1, t0 + 20_000);
      await second.engine.evaluate(t0 + 20_000);
      expect(second.statuses()).toEqual(['resolved']);
      // The resolution belongs to the first episode: its key names the first firing.
      expect(second.sent[0]?.idempotency_key).toBe(first.sent[0]?.idempotency_key?.replace(/firing$/, 'resolved'));
      second.saved.close();

      // Holds again 30 s after the first firing: within the cooldown, even across another restart.
      const third = engineWith({ condition: 'error_rate > 0.2', cooldown: 60 }, undefined, first.statePath);
      third.store.record('error_rate', 'cluster', 0.5, t0 + 30_000);
      await third.engine.evaluate(t0 + 30_000);
      expect(third.statuses()).toEqual([]);
      third.store.record('error_rate', 'cluster', 0.5, t0 + 60_000);
      await third.engine.evaluate(t0 + 60_000);
      expect(third.statuses()).toEqual(['firing']);
      expect(third.sent[0]?.idempotency_key).not.toBe(first.sent[0]?.idempotency_key);
    });

    it('resolves, after the restart, a firing whose condition cleared while the service was down', async () => {
      const first = engineWith({ condition: 'error_rate > 0.2' });
      first.store.record('error_rate', 'cluster', 0.5, t0);
      await first.engine.evaluate(t0);
      first.saved.close();
      const second = engineWith({ condition: 'error_rate > 0.2' }, undefined, first.statePath);
      second.store.record('error_rate', 'cluster', 0.05, t0 + 30_000);
      await second.engine.evaluate(t0 + 30_000);
      await second.engine.evaluate(t0 + 31_000);
      expect(second.statuses()).toEqual(['resolved']);
    });

    it('keeps the `for:` timer of a pending rule', async () => {
      const first = engineWith({ condition: 'latency > 2000', for: 10 });
      first.store.record('latency', 'cluster', 2500, t0);
      await first.engine.evaluate(t0);
      first.saved.close();
      const second = engineWith({ condition: 'latency > 2000', for: 10 }, undefined, first.statePath);
      second.store.record('latency', 'cluster', 2500, t0 + 10_000);
      await second.engine.evaluate(t0 + 10_000);
      expect(second.statuses()).toEqual(['firing']);
    });

    it('sends a transition that the outbox did not take again, under the same key, after the restart', async () => {
      const first = engineWith({ condition: 'error_rate > 0.2' });
      first.outbox.down = true;
      first.store.record('error_rate', 'cluster', 0.5, t0);
      await first.engine.evaluate(t0);
      expect(first.statuses()).toEqual([]);
      first.saved.close();
      const second = engineWith({ condition: 'error_rate > 0.2' }, undefined, first.statePath);
      second.store.record('error_rate', 'cluster', 0.5, t0 + 5000);
      await second.engine.evaluate(t0 + 5000);
      expect(second.statuses()).toEqual(['firing']);
      expect(second.sent[0]?.idempotency_key).toBe(`rule:r:${new Date(t0).toISOString()}:firing`);
      await second.engine.evaluate(t0 + 6000);
      expect(second.statuses()).toEqual(['firing']);
    });
  });
});
