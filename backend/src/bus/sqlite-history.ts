/**
 * Channel history on disk: `history.sqlite` under `storage.data_dir`. A row per message (its payload is the wire
 * JSON, id included), a row per channel (its newest offset, which outlives the messages, and when the channel began),
 * a row per publish receipt (idempotency), and the epoch of this history in `service_meta`. The durable bus hands
 * over everything published in one turn of the event loop and it is written in one transaction (a group commit).
 */
import type Database from 'better-sqlite3';
import { statSync } from 'node:fs';
import { z } from 'zod';
import { openDatabase, type Synchronous } from '../storage/sqlite';
import type { StoredReceipt } from './receipts';
import type { StreamMessage } from './stream-message';

export interface StoredMessage {
  offset: number;
  at: number;
  payload: string;
}

export interface StoredChannel {
  lastOffset: number;
  startedAt: number;
  messages: StoredMessage[];
}

export interface HistoryBatch {
  messages: readonly StreamMessage[];
  receipts: readonly (readonly [string, StoredReceipt])[];
}

const receiptIds = z.array(z.array(z.string()));

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

const sizeOf = (path: string): number => {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
};

export class SqliteHistory {
  private readonly db: Database.Database;
  private readonly statements;
  readonly epoch: string;

  constructor(
    readonly path: string,
    synchronous: Synchronous,
    cacheKb: number,
    newEpoch: () => string,
  ) {
    this.db = openDatabase(path, 'channel history database', synchronous, cacheKb);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS channels (
        channel TEXT PRIMARY KEY,
        last_offset INTEGER NOT NULL,
        started_at INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS messages (
        channel TEXT NOT NULL,
        offset INTEGER NOT NULL,
        at INTEGER NOT NULL,
        payload TEXT NOT NULL,
        PRIMARY KEY (channel, offset)
      );
      CREATE TABLE IF NOT EXISTS receipts (
        key TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        ids TEXT NOT NULL,
        at INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS receipts_at ON receipts (at);
    `);
    this.db.prepare("INSERT OR IGNORE INTO service_meta (key, value) VALUES ('history_epoch', ?)").run(newEpoch());
    this.epoch = (this.db.prepare("SELECT value FROM service_meta WHERE key = 'history_epoch'").get() as { value: string }).value;
    this.statements = {
      channel: this.db.prepare<[string], { last_offset: number; started_at: number }>(
        'SELECT last_offset, started_at FROM channels WHERE channel = ?',
      ),
      addChannel: this.db.prepare('INSERT OR IGNORE INTO channels (channel, last_offset, started_at) VALUES (?, 0, ?)'),
      messages: this.db.prepare<[string, number, number], StoredMessage>(
        'SELECT offset, at, payload FROM messages WHERE channel = ? AND offset > ? AND at >= ? ORDER BY offset',
      ),
      insert: this.db.prepare('INSERT INTO messages (channel, offset, at, payload) VALUES (?, ?, ?, ?)'),
      head: this.db.prepare(
        'INSERT INTO channels (channel, last_offset, started_at) VALUES (?, ?, ?) ON CONFLICT (channel) DO UPDATE SET last_offset = excluded.last_offset',
      ),
      trim: this.db.prepare('DELETE FROM messages WHERE channel = ? AND offset < ?'),
      receipts: this.db.prepare<[number], { key: string; fingerprint: string; ids: string; at: number }>(
        'SELECT key, fingerprint, ids, at FROM receipts WHERE at >= ? ORDER BY at',
      ),
      addReceipt: this.db.prepare('INSERT OR REPLACE INTO receipts (key, fingerprint, ids, at) VALUES (?, ?, ?, ?)'),
      expireReceipts: this.db.prepare('DELETE FROM receipts WHERE at < ?'),
    };
  }

  /** A channel's newest offset and the messages kept of it (at most `capacity`, none older than `since`). */
  load(channel: string, capacity: number, since: number, now = Date.now()): StoredChannel {
    let row = this.statements.channel.get(channel);
    if (!row) {
      row = { last_offset: 0, started_at: now };
      try {
        this.statements.addChannel.run(channel, now);
      } catch {
        // The disk takes no writes now: the channel's row is written with its first message (upsert in write()).
      }
    }
    return {
      lastOffset: row.last_offset,
      startedAt: row.started_at,
      messages: this.statements.messages.all(channel, row.last_offset - capacity, since),
    };
  }

  /** Writes one group commit; throws (and writes nothing) when the database cannot take it. */
  write(batch: HistoryBatch): void {
    this.db.transaction(() => {
      const heads = new Map<string, number>();
      for (const message of batch.messages) {
        this.statements.insert.run(message.channel, message.offset, message.at, message.payload);
        heads.set(message.channel, message.offset);
      }
      const now = Date.now();
      for (const [channel, offset] of heads) this.statements.head.run(channel, offset, now);
      for (const [key, receipt] of batch.receipts) {
        this.statements.addReceipt.run(key, receipt.fingerprint, JSON.stringify(receipt.ids), receipt.at);
      }
    })();
  }

  /** Deletes messages of `channel` below `offset` (they left the history in memory). */
  trim(channel: string, offset: number): void {
    this.statements.trim.run(channel, offset);
  }

  /** Receipts accepted at or after `since`, oldest first. */
  receipts(since: number): [string, StoredReceipt][] {
    const out: [string, StoredReceipt][] = [];
    for (const row of this.statements.receipts.all(since)) {
      const ids = receiptIds.safeParse(parseJson(row.ids));
      if (ids.success) out.push([row.key, { fingerprint: row.fingerprint, ids: ids.data, at: row.at }]);
    }
    return out;
  }

  expireReceipts(before: number): void {
    this.statements.expireReceipts.run(before);
  }

  /** Bytes on disk: the database file and its write-ahead log. */
  sizes(): { database_bytes: number; wal_bytes: number } {
    return { database_bytes: sizeOf(this.path), wal_bytes: sizeOf(`${this.path}-wal`) };
  }

  close(): void {
    this.db.close();
  }
}
