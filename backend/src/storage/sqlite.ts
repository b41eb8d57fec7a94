/**
 * Opens the service's SQLite files under `storage.data_dir` (channel history, the notification outbox and rule
 * state): the folder made if missing, WAL, the synchronous level the file needs, and one write at once, so that a
 * file or folder that cannot be written stops the start with an error naming the path instead of failing at the
 * first publish.
 */
import Database from 'better-sqlite3';
import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** A database the service cannot open or write; `main.ts` prints it and exits. */
export class StorageError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = 'StorageError';
    // An operator's problem, not a bug: the framework logs it on its way out, and a stack trace would bury the path.
    this.stack = `${this.name}: ${message}`;
  }
}

/**
 * Makes `path` and its missing parents, one `mkdir` each. Not `mkdirSync(path, { recursive: true })`: Node's walk
 * loops forever, at full CPU, where a parent exists but cannot hold children and mkdir answers ENOENT (a dangling
 * symlink, such as a link to a disk that is not mounted, or a path under /proc); here that is an error.
 */
export function makeDirectory(path: string): void {
  const missing: string[] = [];
  for (let current = resolve(path); !existsSync(current); current = dirname(current)) {
    missing.unshift(current);
    if (dirname(current) === current) break;
  }
  for (const directory of missing) mkdirSync(directory);
}

/** Makes the data directory if missing and checks that it can be written: the first check at start. */
export function prepareDataDir(dir: string): void {
  const path = resolve(dir);
  try {
    makeDirectory(path);
    accessSync(path, constants.W_OK);
  } catch (error) {
    throw new StorageError(
      path,
      `the data directory ${path} cannot be written: ${(error as Error).message} (storage.data_dir, DATA_STREAMING_DATA_DIR)`,
    );
  }
}

/**
 * `NORMAL` in WAL mode: a commit is in the operating system's hands when it returns (survives the process being
 * killed), synced to the device at checkpoints. `FULL`: every commit is synced (survives a power loss).
 */
export type Synchronous = 'NORMAL' | 'FULL';

/** `cacheKb`: SQLite's page cache for this connection (`storage.sqlite_cache_kb`). */
export function openDatabase(path: string, what: string, synchronous: Synchronous, cacheKb: number): Database.Database {
  let db: Database.Database | undefined;
  try {
    if (path !== ':memory:') makeDirectory(dirname(path));
    db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${synchronous}`);
    db.pragma('busy_timeout = 5000');
    db.pragma(`cache_size = -${cacheKb}`);
    // The WAL is reused after each checkpoint; this keeps a burst from leaving a large file behind.
    db.pragma('journal_size_limit = 67108864');
    db.exec('CREATE TABLE IF NOT EXISTS service_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
    db.prepare("INSERT INTO service_meta (key, value) VALUES ('opened_at', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(
      new Date().toISOString(),
    );
    return db;
  } catch (error) {
    db?.close();
    throw new StorageError(
      path,
      `cannot open the ${what} at ${path} for writing: ${(error as Error).message} (storage.data_dir, DATA_STREAMING_DATA_DIR)`,
    );
  }
}

/** Whether an error from SQLite means the file cannot take writes now (full disk, I/O error, read-only, locked). */
export function isWriteFailure(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('SQLITE_');
}
