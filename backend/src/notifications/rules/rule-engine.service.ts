/**
 * Evaluates the notification rules against the metric store every `evaluation_interval`. A rule whose condition holds
 * for its `for:` duration fires once; when the condition clears it resolves. After a firing, the rule does not fire
 * again within its `cooldown`, so a flapping metric cannot produce a storm. Only the cluster leader evaluates (the
 * shared bus feeds every instance's metric store alike): the others keep their rules inactive, and an instance that
 * becomes leader starts from there, waiting out `for:` again.
 */
import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { InjectConfig } from '../../config/config.module';
import type { AppConfig } from '../../config/config.schema';
import { MetricStoreService } from '../../metric-store/metric-store.service';
import { LeadershipService } from '../../redis/leadership.service';
import type { NotificationChannel, Priority } from '../notification';
import { NotificationsService } from '../notifications.service';
import { evaluateCondition, metricsOf, parseCondition, type Condition } from './condition';

export type RuleState = 'inactive' | 'pending' | 'firing';

interface Rule {
  name: string;
  text: string;
  condition: Condition;
  metrics: string[];
  channel: NotificationChannel | 'all';
  priority: Priority;
  forMs: number;
  cooldownMs: number;
  state: RuleState;
  since: number;
  lastFiredAt: number | undefined;
  firedAt: string | undefined;
}

@Injectable()
export class RuleEngineService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(RuleEngineService.name);
  readonly rules: Rule[];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly store: MetricStoreService,
    private readonly notifications: NotificationsService,
    private readonly leadership: LeadershipService,
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
      };
    });
  }

  onApplicationBootstrap(): void {
    const settings = this.config.real_time_notifications;
    if (!settings.enabled || this.rules.length === 0) return;
    this.timer = setInterval(() => this.evaluate(), settings.evaluation_interval * 1000);
    this.timer.unref();
  }

  evaluate(now = Date.now()): void {
    if (!this.leadership.isLeader) {
      this.standDown();
      return;
    }
    for (const rule of this.rules) {
      const holds = evaluateCondition(rule.condition, (metric) => this.store.value(metric, now));
      if (holds) {
        if (rule.state === 'inactive') {
          rule.state = 'pending';
          rule.since = now;
        }
        const cooled = rule.lastFiredAt === undefined || now - rule.lastFiredAt >= rule.cooldownMs;
        if (rule.state === 'pending' && now - rule.since >= rule.forMs && cooled) {
          rule.state = 'firing';
          rule.lastFiredAt = now;
          rule.firedAt = new Date(now).toISOString();
          void this.notify(rule, 'firing', now);
        }
      } else {
        if (rule.state === 'firing') void this.notify(rule, 'resolved', now);
        rule.state = 'inactive';
      }
    }
  }

  /**
   * Forgets what this instance saw while it led: the new leader decides from its own evaluations, and a firing left
   * here must not resolve from here later. The cooldown is kept, so leadership changes cannot cause a storm.
   */
  private standDown(): void {
    for (const rule of this.rules) rule.state = 'inactive';
  }

  private async notify(rule: Rule, status: 'firing' | 'resolved', now: number): Promise<void> {
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
      else this.logger.log(`Rule ${rule.name} ${status} (${shown}): notification ${outcome.id}`);
    } catch (error) {
      this.logger.error(`Rule ${rule.name} ${status}: notification not accepted: ${(error as Error).message}`);
    }
  }

  states(): { name: string; condition: string; state: RuleState; priority: Priority; channel: string }[] {
    return this.rules.map((rule) => ({
      name: rule.name,
      condition: rule.text,
      state: rule.state,
      priority: rule.priority,
      channel: rule.channel,
    }));
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
