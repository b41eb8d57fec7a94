/**
 * Evaluates the notification rules against the metric store every `evaluation_interval`. A rule whose condition holds
 * for its `for:` duration fires once; when the condition clears it resolves. After a firing, the rule does not fire
 * again within its `cooldown`, so a flapping metric cannot produce a storm.
 *
 * Rule state survives restarts (rule-state.store.ts): every transition is saved before its notification is sent, and
 * marked sent once the outbox has accepted it. After a restart a rule already firing does not fire again, its
 * cooldown and `for:` timer go on, and a transition left unsent is sent again under the same idempotency key (so the
 * outbox takes it once); a firing whose condition cleared meanwhile resolves at the first evaluation. Only the cluster
 * leader evaluates (the shared bus feeds every instance's metric store alike); with Redis the state is shared, so an
 * instance that becomes leader reads it and carries on.
 */
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { InjectConfig } from '../../config/config.module';
import type { AppConfig } from '../../config/config.schema';
import { MetricStoreService } from '../../metric-store/metric-store.service';
import { LeadershipService } from '../../redis/leadership.service';
import type { DeliveryChannel, Priority } from '../notification';
import { NotificationsService } from '../notifications.service';
import type { RuleStatus } from '@data-streaming/protocol';
import { comparisonsOf, evaluateCondition, metricsOf, parseCondition, type Condition } from '../../common/condition';
import { RULE_STATES, type PersistedRuleState, type RuleStateStore } from './rule-state.store';

export type RuleState = 'inactive' | 'pending' | 'firing';

interface Rule {
  name: string;
  text: string;
  condition: Condition;
  metrics: string[];
  channel: DeliveryChannel | 'all';
  priority: Priority;
  forMs: number;
  cooldownMs: number;
  state: RuleState;
  since: number;
  lastFiredAt: number | undefined;
  firedAt: string | undefined;
  unsent: 'firing' | 'resolved' | undefined;
}

@Injectable()
export class RuleEngineService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(RuleEngineService.name);
  readonly rules: Rule[];
  private timer: NodeJS.Timeout | undefined;
  /** The saved state has been read since this instance (last) became leader. */
  private restored = false;
  private evaluating = false;

  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly store: MetricStoreService,
    private readonly notifications: NotificationsService,
    private readonly leadership: LeadershipService,
    @Inject(RULE_STATES) private readonly saved: RuleStateStore,
  ) {
    // The configuration was validated at load (config.schema.ts), so these parse.
    this.rules = config.real_time_notifications.notification_rules.map((rule) => {
      const condition = parseCondition(rule.condition);
      return {
        name: rule.name,
        text: rule.condition,
        condition,
        metrics: [...new Set(metricsOf(condition).map((metric) => metric.name))],
        channel: rule.channel,
        priority: rule.priority,
        forMs: rule.for * 1000,
        cooldownMs: rule.cooldown * 1000,
        state: 'inactive',
        since: 0,
        lastFiredAt: undefined,
        firedAt: undefined,
        unsent: undefined,
      };
    });
  }

  onApplicationBootstrap(): void {
    const settings = this.config.real_time_notifications;
    if (!settings.enabled || this.rules.length === 0) return;
    this.timer = setInterval(() => void this.evaluate(), settings.evaluation_interval * 1000);
    this.timer.unref();
  }

  /** One evaluation of every rule (skipped while the previous one is still saving or sending). */
  async evaluate(now = Date.now()): Promise<void> {
    if (this.evaluating) return;
    this.evaluating = true;
    try {
      if (!this.leadership.isLeader) {
        this.standDown();
        return;
      }
      if (!this.restored) await this.restore();
      for (const rule of this.rules) await this.step(rule, now);
    } catch (error) {
      this.logger.error(`Rule evaluation failed: ${(error as Error).message}; trying again at the next evaluation`);
    } finally {
      this.evaluating = false;
    }
  }

  private async step(rule: Rule, now: number): Promise<void> {
    const before = this.snapshot(rule);
    const holds = evaluateCondition(rule.condition, (metric) => this.store.value(metric, now));
    if (holds) {
      if (rule.state === 'inactive') {
        rule.state = 'pending';
        rule.since = now;
      }
      const cooled = rule.lastFiredAt === undefined || now - rule.lastFiredAt >= rule.cooldownMs;
      // A new episode waits until the last one's resolution is out (it stays unsent only while the outbox is down).
      if (rule.state === 'pending' && now - rule.since >= rule.forMs && cooled && rule.unsent === undefined) {
        rule.state = 'firing';
        rule.lastFiredAt = now;
        rule.firedAt = new Date(now).toISOString();
        rule.unsent = 'firing';
      }
    } else {
      if (rule.state === 'firing') rule.unsent = 'resolved';
      rule.state = 'inactive';
    }
    const after = this.snapshot(rule);
    // The transition is saved before its notification goes out: a crash in between sends it again, same key.
    if (JSON.stringify(after) !== JSON.stringify(before)) await this.saved.save(rule.name, after);
    if (rule.unsent !== undefined && (await this.notify(rule, rule.unsent, now))) {
      rule.unsent = undefined;
      await this.saved.save(rule.name, this.snapshot(rule));
    }
  }

  private snapshot(rule: Rule): PersistedRuleState {
    return {
      state: rule.state,
      since: rule.since,
      ...(rule.lastFiredAt === undefined ? {} : { lastFiredAt: rule.lastFiredAt }),
      ...(rule.firedAt === undefined ? {} : { firedAt: rule.firedAt }),
      ...(rule.unsent === undefined ? {} : { unsent: rule.unsent }),
    };
  }

  /** Takes up the saved state of every configured rule (a rule with none starts inactive). */
  private async restore(): Promise<void> {
    const { states, skipped } = await this.saved.load();
    for (const name of skipped) this.logger.warn(`Saved state of rule ${name} could not be read; the rule starts inactive`);
    for (const rule of this.rules) {
      const state = states.get(rule.name);
      if (!state) continue;
      rule.state = state.state;
      rule.since = state.since;
      rule.lastFiredAt = state.lastFiredAt;
      rule.firedAt = state.firedAt;
      rule.unsent = state.unsent;
      if (state.state !== 'inactive')
        this.logger.log(`Rule ${rule.name} carries on ${state.state} since ${new Date(state.since).toISOString()}`);
    }
    this.restored = true;
  }

  /**
   * Not the leader (any more): stops evaluating and reads the shared state again on leading again, so the leader of
   * the moment carries on from what was saved rather than from what this instance last saw.
   */
  private standDown(): void {
    this.restored = false;
    for (const rule of this.rules) rule.state = 'inactive';
  }

  /** Sends a transition's notification; true once the outbox has it (new or a duplicate of the same key). */
  private async notify(rule: Rule, status: 'firing' | 'resolved', now: number): Promise<boolean> {
    const values = Object.fromEntries(rule.metrics.map((metric) => [metric, this.store.value(metric, now) ?? null]));
    const shown = Object.entries(values)
      .map(([metric, value]) => `${metric} = ${value ?? 'no data'}`)
      .join(', ');
    try {
      const outcome = await this.notifications.accept(
        {
          type: `rule.${status}`,
          status,
          priority: rule.priority,
          title: rule.name,
          message:
            status === 'firing'
              ? `${rule.name}: ${rule.text} holds (${shown})`
              : `${rule.name} resolved: ${rule.text} no longer holds (${shown})`,
          labels: { rule: rule.name, source: 'rule' },
          rule: { name: rule.name, condition: rule.text, values },
          channel: rule.channel,
          idempotency_key: `rule:${rule.name}:${rule.firedAt ?? ''}:${status}`,
        },
        'rule',
        false,
      );
      if ('suppressed' in outcome) this.logger.debug(`Rule ${rule.name} ${status}: ${outcome.reason}`);
      else
        this.logger.log(
          `Rule ${rule.name} ${status} (${shown}): notification ${outcome.id}${outcome.deduplicated ? ' (already accepted)' : ''}`,
        );
      return true;
    } catch (error) {
      this.logger.error(
        `Rule ${rule.name} ${status}: notification not accepted (${(error as Error).message}); sent again at the next evaluation`,
      );
      return false;
    }
  }

  /** Each rule, where it stands, and its comparisons against the metric store now. */
  states(now = Date.now()): RuleStatus[] {
    return this.rules.map((rule) => ({
      name: rule.name,
      condition: rule.text,
      state: rule.state,
      since: rule.state === 'inactive' ? null : new Date(rule.since).toISOString(),
      last_fired_at: rule.lastFiredAt === undefined ? null : new Date(rule.lastFiredAt).toISOString(),
      for_seconds: rule.forMs / 1000,
      cooldown_seconds: rule.cooldownMs / 1000,
      priority: rule.priority,
      channel: rule.channel,
      comparisons: comparisonsOf(rule.condition, (metric) => this.store.value(metric, now)),
    }));
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
    this.saved.close();
  }
}
