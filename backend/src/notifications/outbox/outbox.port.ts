/**
 * The outbox port: where accepted notifications and their per-channel deliveries are kept until delivered. Two
 * adapters: SQLite local to one process (SqliteOutbox) and Redis shared by every instance (RedisOutbox), picked
 * by notifications.module.ts. Every method is asynchronous; a store that cannot be reached rejects.
 */
import { Logger } from '@nestjs/common';
import { notificationSchema } from '@data-streaming/protocol';
import type { Notification, DeliveryChannel, Priority } from '../notification';

export type DeliveryState = 'pending' | 'delivered' | 'failed';

export interface DeliveryRow {
  notification_id: string;
  channel: DeliveryChannel;
  state: DeliveryState;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  delivered_at: number | null;
  updated_at: number;
}

export interface ClaimedDelivery {
  notification: Notification;
  channel: DeliveryChannel;
  attempts: number;
}

export interface InitialDelivery {
  channel: DeliveryChannel;
  /** A channel that cannot deliver (not configured) is recorded as failed at once, with its reason. */
  failed?: string;
}

export interface StoredNotification {
  notification: Notification;
  /** Ordered by channel name. */
  deliveries: DeliveryRow[];
}

export interface DeliveryCount {
  channel: DeliveryChannel;
  state: DeliveryState;
  count: number;
}

export interface ChannelHistory {
  lastSuccess: Map<string, number>;
  lastFailure: Map<string, { at: number; error: string }>;
}

/** Why a claimed delivery whose stored notification cannot be read is failed instead of attempted. */
export const CORRUPT_NOTIFICATION = 'the stored notification is corrupt (it does not match the notification schema)';

const logger = new Logger('Outbox');

/**
 * A stored notification read back through the protocol's schema: never cast. A row that is not JSON or does not
 * match is reported (logged with the store and the id) and answered as undefined, for the caller to skip.
 */
export function readStoredNotification(payload: string, where: string): Notification | undefined {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    value = undefined;
  }
  const parsed = notificationSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  logger.warn(
    `Skipped a corrupt notification in ${where}: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'unreadable'}`,
  );
  return undefined;
}

/** Claim order: a lower rank is more urgent. */
export const PRIORITY_RANK: Readonly<Record<Priority, number>> = { critical: 0, warning: 1, info: 2 };

export interface Outbox {
  /**
   * Stores a notification and its deliveries atomically. Returns the id of the stored notification and whether it is
   * new: a second notification with the same idempotency key is not stored again.
   */
  insert(notification: Notification, deliveries: readonly InitialDelivery[], now?: number): Promise<{ id: string; created: boolean }>;
  /** Makes deliveries leased by an earlier run of this process due again at start; returns how many. */
  releaseLeases(): Promise<number>;
  /** Takes up to `limit` due deliveries for `leaseMs`, most urgent first, counting the attempt. */
  claimDue(limit: number, leaseMs: number, now?: number): Promise<ClaimedDelivery[]>;
  /** The mark* methods only act on a delivery still pending: a finished delivery keeps its outcome. */
  markDelivered(id: string, channel: DeliveryChannel, now?: number): Promise<void>;
  markRetry(id: string, channel: DeliveryChannel, nextAt: number, error: string, now?: number): Promise<void>;
  markFailed(id: string, channel: DeliveryChannel, error: string, now?: number): Promise<void>;
  find(id: string): Promise<StoredNotification | undefined>;
  /** Deliveries per channel and state; combinations with no delivery are left out. */
  counts(): Promise<DeliveryCount[]>;
  channelHistory(): Promise<ChannelHistory>;
  /** When the next pending delivery becomes due (ms epoch), undefined when nothing is pending. */
  nextDueAt(): Promise<number | undefined>;
  /**
   * Deletes notifications created before `before` whose deliveries are all finished (delivered or failed). Pending
   * work is never deleted, however old. Returns how many notifications went.
   */
  purgeFinished(before: number): Promise<number>;
  close(): Promise<void>;
}
