/**
 * Where the rule engine keeps each rule's state across restarts, as Prometheus keeps its alerts' `for` state:
 * pending or firing and since when, the last firing (for the cooldown), the firing episode (its time names the
 * episode's idempotency keys) and a transition whose notification may not have been accepted yet. Two adapters, like
 * the outbox: SQLite beside the outbox (one instance) and Redis (shared, so a new leader carries on where the old one
 * stopped). Rows are checked by one schema on the way in; one that does not parse is reported and skipped.
 */
import type Database from 'better-sqlite3';
import { z } from 'zod';
import type { RedisConnection } from '../../redis/redis.connection';
import { openDatabase } from '../../storage/sqlite';

export const RULE_STATES = Symbol('RULE_STATES');

export const ruleStateSchema = z.strictObject({
  state: z.enum(['inactive', 'pending', 'firing']),
  /** When the condition began to hold (pending, firing), ms since the epoch. */
  since: z.number(),
  lastFiredAt: z.number().optional(),
  /** ISO time of the firing that opened the current or last episode. */
  firedAt: z.string().optional(),
  /** A transition whose notification is not known to be accepted: sent again (same key) until it is. */
  unsent: z.enum(['firing', 'resolved']).optional(),
});

export type PersistedRuleState = z.infer<typeof ruleStateSchema>;

export interface RuleStateStore {
  /** Every rule's saved state; `skipped` names rows that could not be read. */
  load(): Promise<{ states: Map<string, PersistedRuleState>; skipped: string[] }>;
  save(name: string, state: PersistedRuleState): Promise<void>;
  close(): void;
}

function parseRow(name: string, text: string, states: Map<string, PersistedRuleState>, skipped: string[]): void {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  const parsed = ruleStateSchema.safeParse(value);
  if (parsed.success) states.set(name, parsed.data);
  else skipped.push(name);
}

export class SqliteRuleStates implements RuleStateStore {
  private readonly db: Database.Database;

  constructor(path: string, cacheKb: number) {
    this.db = openDatabase(path, 'rule state database', 'FULL', cacheKb);
    this.db.exec('CREATE TABLE IF NOT EXISTS rule_states (name TEXT PRIMARY KEY, state TEXT NOT NULL, updated_at INTEGER NOT NULL)');
  }

  load(): Promise<{ states: Map<string, PersistedRuleState>; skipped: string[] }> {
    return new Promise((resolve) => {
      const states = new Map<string, PersistedRuleState>();
      const skipped: string[] = [];
      for (const row of this.db.prepare<[], { name: string; state: string }>('SELECT name, state FROM rule_states').all()) {
        parseRow(row.name, row.state, states, skipped);
      }
      resolve({ states, skipped });
    });
  }

  save(name: string, state: PersistedRuleState): Promise<void> {
    return new Promise((resolve) => {
      this.db
        .prepare(
          `INSERT INTO rule_states (name, state, updated_at) VALUES (?, ?, ?)
           ON CONFLICT (name) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`,
        )
        .run(name, JSON.stringify(state), Date.now());
      resolve();
    });
  }

  close(): void {
    this.db.close();
  }
}

export class RedisRuleStates implements RuleStateStore {
  constructor(private readonly redis: RedisConnection) {}

  private get key(): string {
    return this.redis.key('rules');
  }

  async load(): Promise<{ states: Map<string, PersistedRuleState>; skipped: string[] }> {
    const states = new Map<string, PersistedRuleState>();
    const skipped: string[] = [];
    for (const [name, text] of Object.entries(await this.redis.command.hgetall(this.key))) parseRow(name, text, states, skipped);
    return { states, skipped };
  }

  async save(name: string, state: PersistedRuleState): Promise<void> {
    await this.redis.command.hset(this.key, name, JSON.stringify(state));
  }

  close(): void {
    // The connection belongs to the Redis module.
  }
}
