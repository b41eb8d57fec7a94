/**
 * Idempotent publishing, as JetStream's `Nats-Msg-Id` and Centrifugo's idempotency key do it: a request published
 * under a key is appended once within a window, and the same key again is answered with the first publish's ids.
 * The receipt is kept by the bus because it must be written with the events (the durable bus writes both in one
 * transaction), or a crash between the two would let a retry append a second copy. A key still being written is
 * refused as in progress; a key reused for a different request (another fingerprint) is refused as a mismatch.
 */
import { z } from 'zod';
import type { PublishInput } from './stream-message';

export interface PublishGroup {
  channel: string;
  events: readonly PublishInput[];
}

export interface Idempotency {
  /** The caller's key, scoped by the caller (one publisher's keys cannot meet another's). */
  key: string;
  /** Digest of the request: the same key with another request is a mismatch. */
  fingerprint: string;
}

export interface PublishReceipt {
  /** Per group, in the order of the request's groups: the ids of its events. */
  ids: string[][];
  /** True when this answers a repeated key: nothing was appended. */
  replayed: boolean;
}

export interface StoredReceipt {
  fingerprint: string;
  ids: string[][];
  /** When the first publish was accepted (ms since the epoch). */
  at: number;
}

/** A receipt as another instance wrote it (Redis): claimed by a publish under way, or written after it. */
export const sharedReceiptSchema = z.union([
  z.strictObject({ pending: z.string() }),
  z.strictObject({ fingerprint: z.string(), ids: z.array(z.array(z.string())), at: z.number() }),
]);

export class IdempotencyConflictError extends Error {
  constructor(readonly reason: 'in_progress' | 'mismatch') {
    super(
      reason === 'in_progress'
        ? 'a request with this Idempotency-Key is still being processed'
        : 'this Idempotency-Key was used for a different request',
    );
    this.name = 'IdempotencyConflictError';
  }
}

/**
 * A caller's key scoped by its credential, so one publisher's keys never meet another's. Built with join() so the
 * string is flat: a template literal would make a cons string that keeps its two parts alive beside it.
 */
export function scopedKey(principalId: string, key: string): string {
  return [principalId, key].join('\u001f');
}

/**
 * Receipts of one process, bounded by age and count (the oldest go first), and the keys being written now.
 *
 * A receipt lives for the whole window (5 minutes on the defaults: 90,000 of them at 300 publishes a second), long
 * enough to be promoted to V8's old space and die there. So each is kept as one flat string, `at|ids|fingerprint`
 * (ids `epoch:offset`, comma-separated within a group, groups separated by spaces), under a flat key: about 190 bytes
 * of heap where an object with its arrays took about 445, and read back into a `StoredReceipt` only when a key repeats.
 * Keys come flat from `scopedKey`.
 */
export class ReceiptCache {
  private readonly receipts = new Map<string, string>();
  private readonly inFlight = new Map<string, string>();
  /** Receipts dropped before their window ended because `maxKeys` was reached. */
  evicted = 0;

  constructor(private readonly limits: { windowMs: number; maxKeys: number }) {}

  get size(): number {
    return this.receipts.size;
  }

  /** The answer to a repeated key, or undefined after marking the key in flight (settle it when done). */
  begin(idempotency: Idempotency, now = Date.now()): PublishReceipt | undefined {
    const stored = this.get(idempotency.key, now);
    if (stored) {
      if (stored.fingerprint !== idempotency.fingerprint) throw new IdempotencyConflictError('mismatch');
      return { ids: stored.ids, replayed: true };
    }
    const writing = this.inFlight.get(idempotency.key);
    if (writing !== undefined) throw new IdempotencyConflictError(writing === idempotency.fingerprint ? 'in_progress' : 'mismatch');
    this.inFlight.set(idempotency.key, idempotency.fingerprint);
    return undefined;
  }

  /** Ends a key's flight: remembered with its ids when the publish was written, forgotten when it failed. */
  settle(idempotency: Idempotency, ids: string[][] | undefined, at = Date.now()): void {
    this.inFlight.delete(idempotency.key);
    if (ids) this.remember(idempotency.key, { fingerprint: idempotency.fingerprint, ids, at });
  }

  remember(key: string, receipt: StoredReceipt): void {
    this.receipts.delete(key);
    // join() makes a flat string: a template literal or `+` would keep the parts as separate objects (a cons string).
    this.receipts.set(key, [receipt.at, receipt.ids.map((group) => group.join(',')).join(' '), receipt.fingerprint].join('|'));
    for (const oldest of this.receipts.keys()) {
      if (this.receipts.size <= this.limits.maxKeys) break;
      this.receipts.delete(oldest);
      this.evicted++;
    }
  }

  get(key: string, now = Date.now()): StoredReceipt | undefined {
    const encoded = this.receipts.get(key);
    if (encoded === undefined) return undefined;
    const receipt = decodeReceipt(encoded);
    return receipt.at >= now - this.limits.windowMs ? receipt : undefined;
  }

  /** Forgets receipts past the window; returns the time before which none is kept any more. */
  sweep(now = Date.now()): number {
    const horizon = now - this.limits.windowMs;
    for (const [key, encoded] of this.receipts) {
      const at = Number(encoded.slice(0, encoded.indexOf('|')));
      if (at >= horizon) return at;
      this.receipts.delete(key);
    }
    return now;
  }
}

function decodeReceipt(encoded: string): StoredReceipt {
  const afterAt = encoded.indexOf('|');
  const afterIds = encoded.indexOf('|', afterAt + 1);
  return {
    at: Number(encoded.slice(0, afterAt)),
    ids: encoded
      .slice(afterAt + 1, afterIds)
      .split(' ')
      .map((group) => group.split(',')),
    fingerprint: encoded.slice(afterIds + 1),
  };
}
