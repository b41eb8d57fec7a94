import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from './sqlite';

describe('openDatabase', () => {
  it("sets the page cache it is given (storage.sqlite_cache_kb), not better-sqlite3's 16 MiB, and WAL", () => {
    const db = openDatabase(join(mkdtempSync(join(tmpdir(), 'dsa-sqlite-')), 'test.sqlite'), 'test database', 'NORMAL', 1024);
    try {
      expect(db.pragma('cache_size', { simple: true })).toBe(-1024);
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      db.close();
    }
  });
});
