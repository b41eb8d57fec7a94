/**
 * A real Redis for the `*.redis-spec.ts` suites (TEST_REDIS_URL, default redis://127.0.0.1:6379): connections
 * standing for service instances, every key under a prefix of this run, deleted at the end. `start` fails when Redis
 * cannot be reached, so these suites run under `npm run test:redis`, never by `npm test`.
 */
import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../src/config/config.loader';
import { RedisConnection } from '../../src/redis/redis.connection';

export function redisRun() {
  const url = process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379';
  const runPrefix = `dsa-test-${randomBytes(4).toString('hex')}:`;
  const connections: RedisConnection[] = [];
  let prefixes = 0;
  let admin: RedisConnection | undefined;
  const connect = async (prefix: string, target = url): Promise<RedisConnection> => {
    const connection = new RedisConnection(
      target,
      loadConfig({ env: {}, overrides: { redis: { url: target, key_prefix: prefix } } }).redis,
    );
    connections.push(connection);
    await connection.start();
    return connection;
  };
  return {
    connect,
    /** A prefix of its own, under the run's, for one test's instances. */
    freshPrefix: (): string => `${runPrefix}${++prefixes}:`,
    /** A connection outside any instance, for looking at and changing keys directly. */
    admin: (): RedisConnection => admin as RedisConnection,
    /** For beforeAll. */
    start: async (): Promise<void> => {
      Logger.overrideLogger(false);
      admin = await connect(runPrefix);
      if (!admin.available) throw new Error(`Redis at ${admin.target} is not reachable (${admin.lastError ?? 'no answer'})`);
    },
    /** For afterAll: deletes the run's keys and closes every connection. */
    finish: async (): Promise<void> => {
      if (admin?.available) {
        const keys = await admin.command.keys(`${runPrefix}*`);
        if (keys.length > 0) await admin.command.del(...keys);
      }
      await Promise.all(connections.map((connection) => connection.close()));
    },
  };
}
