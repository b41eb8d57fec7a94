/**
 * The outbox of a single instance (no Redis): SQLite (WAL, synchronous FULL) under DATA_STREAMING_DATA_DIR. A
 * notification and its per-channel delivery rows are written in one transaction before any delivery is tried;
 * deliveries are claimed with a lease, so a crashed attempt is simply due again after a restart. better-sqlite3 is
 * synchronous: each method does its work at once and hands the result (or the error) back as a settled promise.
 */
import type Database from 'better-sqlite3';
import { openDatabase } from '../../storage/sqlite';
import type { Notification, DeliveryChannel } from '../notification';
import {
  CORRUPT_NOTIFICATION,
  readStoredNotification,
  PRIORITY_RANK,
  type ChannelHistory,
  type ClaimedDelivery,
  type DeliveryCount,
  type DeliveryRow,
  type DeliveryState,
  type InitialDelivery,
  type Outbox,
  type StoredNotification,
} from './outbox.port';

/** Runs synchronous work as a promise, so that a thrown error becomes a rejection like any other adapter's. */
const settled = <T>(work: () => T): Promise<T> => new Promise((resolve) => resolve(work()));

export class SqliteOutbox implements Outbox {
  private readonly db: Database.Database;
  private readonly statements;

  constructor(path: string, cacheKb: number) {
    this.db = openDatabase(path, 'notification outbox', 'FULL', cacheKb);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS notifications (
        id TEXT PRIMARY KEY,
        idempotency_key TEXT NOT NULL UNIQUE,
        payload TEXT NOT NULL,
        priority_rank INTEGER NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS deliveries (
        notification_id TEXT NOT NULL REFERENCES notifications(id),
        channel TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
        priority_rank INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        lease_until INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        delivered_at INTEGER,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (notification_id, channel)
      );
      CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (state, next_attempt_at);
    `);
    this.statements = {
      findByKey: this.db.prepare<[string], { id: string }>('SELECT id FROM notifications WHERE idempotency_key = ?'),
      insertNotification: this.db.prepare(
        'INSERT INTO notifications (id, idempotency_key, payload, priority_rank, created_at) VALUES (@id, @key, @payload, @rank, @now)',
      ),
      insertDelivery: this.db.prepare(
        `INSERT INTO deliveries (notification_id, channel, state, priority_rank, next_attempt_at, last_error, updated_at)
         VALUES (@id, @channel, @state, @rank, @now, @error, @now)`,
      ),
      claim: this.db.prepare<
        { now: number; leaseUntil: number; limit: number },
        { notification_id: string; channel: DeliveryChannel; attempts: number; payload: string }
      >(
        `UPDATE deliveries SET lease_until = @leaseUntil, attempts = attempts + 1, updated_at = @now
         WHERE rowid IN (
           SELECT rowid FROM deliveries
           WHERE state = 'pending' AND next_attempt_at <= @now AND lease_until <= @now
           ORDER BY priority_rank, next_attempt_at LIMIT @limit)
         RETURNING notification_id, channel, attempts,
           (SELECT payload FROM notifications WHERE notifications.id = deliveries.notification_id) AS payload`,
      ),
      delivered: this.db.prepare(
        `UPDATE deliveries SET state = 'delivered', delivered_at = @now, updated_at = @now, lease_until = 0
         WHERE notification_id = @id AND channel = @channel AND state = 'pending'`,
      ),
      retry: this.db.prepare(
        `UPDATE deliveries SET next_attempt_at = @nextAt, last_error = @error, updated_at = @now, lease_until = 0
         WHERE notification_id = @id AND channel = @channel AND state = 'pending'`,
      ),
      failed: this.db.prepare(
        `UPDATE deliveries SET state = 'failed', last_error = @error, updated_at = @now, lease_until = 0
         WHERE notification_id = @id AND channel = @channel AND state = 'pending'`,
      ),
      notification: this.db.prepare<[string], { payload: string }>('SELECT payload FROM notifications WHERE id = ?'),
      deliveries: this.db.prepare<[string], DeliveryRow>(
        'SELECT notification_id, channel, state, attempts, next_attempt_at, last_error, delivered_at, updated_at FROM deliveries WHERE notification_id = ? ORDER BY channel',
      ),
      counts: this.db.prepare<[], { channel: DeliveryChannel; state: DeliveryState; count: number }>(
        'SELECT channel, state, COUNT(*) AS count FROM deliveries GROUP BY channel, state',
      ),
      lastSuccess: this.db.prepare<[], { channel: DeliveryChannel; at: number }>(
        "SELECT channel, MAX(delivered_at) AS at FROM deliveries WHERE state = 'delivered' GROUP BY channel",
      ),
      lastFailure: this.db.prepare<[], { channel: DeliveryChannel; at: number; error: string }>(
        `SELECT channel, updated_at AS at, last_error AS error FROM deliveries d
         WHERE last_error IS NOT NULL AND updated_at = (SELECT MAX(updated_at) FROM deliveries e WHERE e.channel = d.channel AND e.last_error IS NOT NULL)
         GROUP BY channel`,
      ),
      nextDue: this.db.prepare<[], { at: number | null }>(
        "SELECT MIN(MAX(next_attempt_at, lease_until)) AS at FROM deliveries WHERE state = 'pending'",
      ),
    };
  }

  insert(notification: Notification, deliveries: readonly InitialDelivery[], now = Date.now()): Promise<{ id: string; created: boolean }> {
    return settled(() =>
      this.db.transaction(() => {
        const existing = this.statements.findByKey.get(notification.idempotency_key);
        if (existing) return { id: existing.id, created: false };
        const rank = PRIORITY_RANK[notification.priority];
        this.statements.insertNotification.run({
          id: notification.id,
          key: notification.idempotency_key,
          payload: JSON.stringify(notification),
          rank,
          now,
        });
        for (const delivery of deliveries) {
          this.statements.insertDelivery.run({
            id: notification.id,
            channel: delivery.channel,
            state: delivery.failed === undefined ? 'pending' : 'failed',
            rank,
            now,
            error: delivery.failed ?? null,
          });
        }
        return { id: notification.id, created: true };
      })(),
    );
  }

  /**
   * Only one process uses an outbox file: a lease still held at start belongs to an attempt that died with its
   * process.
   */
  releaseLeases(): Promise<number> {
    return settled(
      () => this.db.prepare("UPDATE deliveries SET lease_until = 0 WHERE state = 'pending' AND lease_until > 0").run().changes,
    );
  }

  /** A claimed delivery whose notification cannot be read is failed with CORRUPT_NOTIFICATION, not handed out. */
  claimDue(limit: number, leaseMs: number, now = Date.now()): Promise<ClaimedDelivery[]> {
    return settled(() =>
      limit <= 0
        ? []
        : this.statements.claim.all({ now, leaseUntil: now + leaseMs, limit }).flatMap((row) => {
            const notification = readStoredNotification(row.payload, `the SQLite outbox (notification ${row.notification_id})`);
            if (notification) return [{ notification, channel: row.channel, attempts: row.attempts }];
            this.statements.failed.run({ id: row.notification_id, channel: row.channel, error: CORRUPT_NOTIFICATION, now });
            return [];
          }),
    );
  }

  markDelivered(id: string, channel: DeliveryChannel, now = Date.now()): Promise<void> {
    return settled(() => void this.statements.delivered.run({ id, channel, now }));
  }

  markRetry(id: string, channel: DeliveryChannel, nextAt: number, error: string, now = Date.now()): Promise<void> {
    return settled(() => void this.statements.retry.run({ id, channel, nextAt, error, now }));
  }

  markFailed(id: string, channel: DeliveryChannel, error: string, now = Date.now()): Promise<void> {
    return settled(() => void this.statements.failed.run({ id, channel, error, now }));
  }

  find(id: string): Promise<StoredNotification | undefined> {
    return settled(() => {
      const row = this.statements.notification.get(id);
      if (!row) return undefined;
      const notification = readStoredNotification(row.payload, `the SQLite outbox (notification ${id})`);
      return notification && { notification, deliveries: this.statements.deliveries.all(id) };
    });
  }

  counts(): Promise<DeliveryCount[]> {
    return settled(() => this.statements.counts.all());
  }

  channelHistory(): Promise<ChannelHistory> {
    return settled(() => ({
      lastSuccess: new Map(this.statements.lastSuccess.all().map((row) => [row.channel, row.at])),
      lastFailure: new Map(this.statements.lastFailure.all().map((row) => [row.channel, { at: row.at, error: row.error }])),
    }));
  }

  nextDueAt(): Promise<number | undefined> {
    return settled(() => this.statements.nextDue.get()?.at ?? undefined);
  }

  purgeFinished(before: number): Promise<number> {
    return settled(() =>
      this.db.transaction(() => {
        const finished = `SELECT id FROM notifications n WHERE n.created_at < @before
          AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.notification_id = n.id AND d.state = 'pending')`;
        this.db.prepare(`DELETE FROM deliveries WHERE notification_id IN (${finished})`).run({ before });
        return this.db.prepare(`DELETE FROM notifications WHERE id IN (${finished})`).run({ before }).changes;
      })(),
    );
  }

  close(): Promise<void> {
    return settled(() => void this.db.close());
  }
}
