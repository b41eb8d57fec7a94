/**
 * The outbox shared by every instance through Redis (when DATA_STREAMING_REDIS_URL is set): a notification accepted by
 * several instances (the same Alertmanager alert, the same idempotency key) is stored once, and each of its deliveries
 * is claimed by one instance at a time.
 *
 * Keys, under `<redis.key_prefix>outbox:`:
 * - `n:<id>`: hash of the notification (payload, idempotency key, created_at, channels);
 * - `key:<idempotency key>`: the id stored for that key (SET NX, expires after `retention` days, deleted by purge);
 * - `d:<id>:<channel>`: hash of one delivery (state, attempts, next_attempt_at, lease_until, last_error, ...);
 * - `due:<rank>`: pending deliveries (`<channel>|<id>`) of one priority rank, scored by when they can next be claimed;
 * - `created`: notification ids by creation time, for the purge;
 * - `counts`, `last_success`, `last_failure_at`, `last_error`: per channel (and state), kept by the transitions.
 *
 * Every transition is one Lua script, so it is atomic. Claiming moves the delivery's score to the end of its lease (a
 * visibility timeout): a delivery claimed by an instance that dies comes due again, after the lease, for any instance.
 * Times are the callers' clocks, so instances keep their clocks in sync (NTP): a skew lengthens or shortens leases.
 *
 * Redis must run with `appendonly yes` and `maxmemory-policy noeviction` for the outbox to survive a Redis restart
 * and memory pressure. The scripts build key names from the prefix, so this needs one Redis, not Redis Cluster.
 */
import type { Redis } from 'ioredis';
import { createHash } from 'node:crypto';
import type { RedisConnection } from '../../redis/redis.connection';
import { isDeliveryChannel, type Notification, type DeliveryChannel } from '../notification';
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

/** Ranks run from 0 (most urgent) to RANKS - 1. */
const RANKS = Object.keys(PRIORITY_RANK).length;
const PURGE_BATCH = 500;

/** A Lua script run by its SHA1, loaded again by EVAL when Redis does not know it (after a restart or SCRIPT FLUSH). */
class LuaScript {
  private readonly sha: string;

  constructor(private readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(redis: Redis, args: (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, 0, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return redis.eval(this.source, 0, ...args);
    }
  }
}

/** Shared by every script: ARGV[1] is the key prefix. */
const PRELUDE = `
local P = ARGV[1]
local function note(id) return P .. 'n:' .. id end
local function delivery(id, channel) return P .. 'd:' .. id .. ':' .. channel end
local function due(rank) return P .. 'due:' .. rank end
local function member(id, channel) return channel .. '|' .. id end
local function count(channel, state, by) redis.call('HINCRBY', P .. 'counts', channel .. '|' .. state, by) end
-- Records \`at\` for the channel in a hash of times unless a later time is there; true when recorded.
local function latest(hash, channel, at)
  if tonumber(redis.call('HGET', P .. hash, channel) or '-1') > tonumber(at) then return false end
  redis.call('HSET', P .. hash, channel, at)
  return true
end
local function failure(channel, at, message)
  if latest('last_failure_at', channel, at) then redis.call('HSET', P .. 'last_error', channel, message) end
end
`;

const script = (body: string): LuaScript => new LuaScript(PRELUDE + body);

/** ARGV: prefix, id, idempotency key, payload, rank, now, key TTL (s), then channel, state, error per delivery. */
const INSERT = script(`
local id, rank, now = ARGV[2], ARGV[5], ARGV[6]
local key = P .. 'key:' .. ARGV[3]
local existing = redis.call('GET', key)
if existing then return {existing, 0} end
redis.call('SET', key, id, 'EX', ARGV[7])
local channels = {}
for i = 8, #ARGV, 3 do
  local channel, state, message = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local d = delivery(id, channel)
  redis.call('HSET', d, 'channel', channel, 'rank', rank, 'state', state, 'attempts', 0, 'next_attempt_at', now,
    'lease_until', 0, 'updated_at', now)
  if state == 'pending' then
    redis.call('ZADD', due(rank), now, member(id, channel))
  else
    redis.call('HSET', d, 'last_error', message)
    failure(channel, now, message)
  end
  count(channel, state, 1)
  channels[#channels + 1] = channel
end
redis.call('HSET', note(id), 'payload', ARGV[4], 'key', ARGV[3], 'created_at', now, 'channels', table.concat(channels, ','))
redis.call('ZADD', P .. 'created', now, id)
return {id, 1}
`);

/** ARGV: prefix, limit, now, lease end, ranks. Returns {id, channel, attempts, payload} per claimed delivery. */
const CLAIM = script(`
local left, now, lease_until = tonumber(ARGV[2]), ARGV[3], ARGV[4]
local claimed = {}
for rank = 0, tonumber(ARGV[5]) - 1 do
  if left <= 0 then break end
  for _, m in ipairs(redis.call('ZRANGEBYSCORE', due(rank), '-inf', now, 'LIMIT', 0, left)) do
    local channel, id = string.match(m, '^([^|]*)|(.*)$')
    local d = delivery(id, channel)
    redis.call('ZADD', due(rank), lease_until, m)
    redis.call('HSET', d, 'lease_until', lease_until, 'updated_at', now)
    claimed[#claimed + 1] = {id, channel, redis.call('HINCRBY', d, 'attempts', 1), redis.call('HGET', note(id), 'payload')}
    left = left - 1
  end
end
return claimed
`);

/** ARGV: prefix, id, channel, outcome (delivered, retry or failed), now, next attempt, error. */
const MARK = script(`
local id, channel, outcome, now, next_at, message = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local d = delivery(id, channel)
if redis.call('HGET', d, 'state') ~= 'pending' then return 0 end
local queue, m = due(redis.call('HGET', d, 'rank')), member(id, channel)
redis.call('HSET', d, 'lease_until', 0, 'updated_at', now)
if outcome == 'retry' then
  redis.call('HSET', d, 'next_attempt_at', next_at, 'last_error', message)
  redis.call('ZADD', queue, next_at, m)
  failure(channel, now, message)
  return 1
end
redis.call('ZREM', queue, m)
redis.call('HSET', d, 'state', outcome)
count(channel, 'pending', -1)
count(channel, outcome, 1)
if outcome == 'delivered' then
  redis.call('HSET', d, 'delivered_at', now)
  latest('last_success', channel, now)
else
  redis.call('HSET', d, 'last_error', message)
  failure(channel, now, message)
end
return 1
`);

/** ARGV: prefix, id. Returns nil, or the payload followed by each delivery hash (flat field/value lists). */
const FIND = script(`
local id = ARGV[2]
local stored = redis.call('HMGET', note(id), 'payload', 'channels')
if not stored[1] then return false end
local found = {stored[1]}
for channel in string.gmatch(stored[2], '[^,]+') do
  found[#found + 1] = redis.call('HGETALL', delivery(id, channel))
end
return found
`);

/** ARGV: prefix, ranks. Returns the earliest due score, or nil. */
const NEXT_DUE = script(`
local earliest = false
for rank = 0, tonumber(ARGV[2]) - 1 do
  local first = redis.call('ZRANGE', due(rank), 0, 0, 'WITHSCORES')
  if first[2] and (not earliest or tonumber(first[2]) < earliest) then earliest = tonumber(first[2]) end
end
return earliest
`);

/**
 * ARGV: prefix, cutoff, offset, batch. Looks at up to `batch` notifications created before the cutoff, from `offset`,
 * and deletes those with no pending delivery. Returns {deleted, looked at}.
 */
const PURGE = script(`
local ids = redis.call('ZRANGEBYSCORE', P .. 'created', '-inf', '(' .. ARGV[2], 'LIMIT', ARGV[3], ARGV[4])
local deleted = 0
for _, id in ipairs(ids) do
  local stored = redis.call('HMGET', note(id), 'key', 'channels')
  local states, finished = {}, true
  for channel in string.gmatch(stored[2], '[^,]+') do
    local state = redis.call('HGET', delivery(id, channel), 'state')
    if state == 'pending' then finished = false break end
    states[channel] = state
  end
  if finished then
    for channel, state in pairs(states) do
      count(channel, state, -1)
      redis.call('DEL', delivery(id, channel))
    end
    local key = P .. 'key:' .. stored[1]
    if redis.call('GET', key) == id then redis.call('DEL', key) end
    redis.call('DEL', note(id))
    redis.call('ZREM', P .. 'created', id)
    deleted = deleted + 1
  end
end
return {deleted, #ids}
`);

const DELIVERY_STATES: readonly string[] = ['pending', 'delivered', 'failed'] satisfies DeliveryState[];
const isDeliveryState = (value: unknown): value is DeliveryState => DELIVERY_STATES.includes(value as string);

/** A delivery hash read back; undefined (and skipped by the caller) when its channel or state is not one we write. */
function deliveryRow(id: string, flat: string[]): DeliveryRow | undefined {
  const fields = new Map<string, string>();
  for (let index = 0; index + 1 < flat.length; index += 2) fields.set(flat[index] as string, flat[index + 1] as string);
  const number = (name: string) => Number(fields.get(name));
  const channel = fields.get('channel');
  const state = fields.get('state');
  if (!isDeliveryChannel(channel) || !isDeliveryState(state)) return undefined;
  return {
    notification_id: id,
    channel,
    state,
    attempts: number('attempts'),
    next_attempt_at: number('next_attempt_at'),
    last_error: fields.get('last_error') ?? null,
    delivered_at: fields.has('delivered_at') ? number('delivered_at') : null,
    updated_at: number('updated_at'),
  };
}

export class RedisOutbox implements Outbox {
  private readonly prefix: string;
  private readonly keyTtlSeconds: number;

  /** `retentionDays`: how long an idempotency key is remembered (`real_time_notifications.retention`). */
  constructor(
    private readonly redis: RedisConnection,
    retentionDays: number,
  ) {
    this.prefix = redis.key('outbox', '');
    this.keyTtlSeconds = Math.ceil(retentionDays * 86_400);
  }

  async insert(
    notification: Notification,
    deliveries: readonly InitialDelivery[],
    now = Date.now(),
  ): Promise<{ id: string; created: boolean }> {
    const [id, created] = (await this.run(
      INSERT,
      notification.id,
      notification.idempotency_key,
      JSON.stringify(notification),
      PRIORITY_RANK[notification.priority],
      now,
      this.keyTtlSeconds,
      ...deliveries.flatMap(({ channel, failed }) => (failed === undefined ? [channel, 'pending', ''] : [channel, 'failed', failed])),
    )) as [string, number];
    return { id, created: created === 1 };
  }

  /** Nothing to release: other instances' leases are live, and a dead instance's lease simply runs out. */
  releaseLeases(): Promise<number> {
    return Promise.resolve(0);
  }

  async claimDue(limit: number, leaseMs: number, now = Date.now()): Promise<ClaimedDelivery[]> {
    if (limit <= 0) return [];
    const claimed = (await this.run(CLAIM, limit, now, now + leaseMs, RANKS)) as [string, DeliveryChannel, number, string][];
    const deliveries: ClaimedDelivery[] = [];
    for (const [id, channel, attempts, payload] of claimed) {
      const notification = readStoredNotification(payload, `the Redis outbox (notification ${id})`);
      // A delivery whose notification cannot be read is failed, not handed out (nor claimed again and again).
      if (notification) deliveries.push({ notification, channel, attempts });
      else await this.markFailed(id, channel, CORRUPT_NOTIFICATION, now);
    }
    return deliveries;
  }

  markDelivered(id: string, channel: DeliveryChannel, now = Date.now()): Promise<void> {
    return this.mark(id, channel, 'delivered', now, 0, '');
  }

  markRetry(id: string, channel: DeliveryChannel, nextAt: number, error: string, now = Date.now()): Promise<void> {
    return this.mark(id, channel, 'retry', now, nextAt, error);
  }

  markFailed(id: string, channel: DeliveryChannel, error: string, now = Date.now()): Promise<void> {
    return this.mark(id, channel, 'failed', now, 0, error);
  }

  async find(id: string): Promise<StoredNotification | undefined> {
    const found = (await this.run(FIND, id)) as [string, ...string[][]] | null;
    if (!found) return undefined;
    const [payload, ...deliveries] = found;
    const notification = readStoredNotification(payload, `the Redis outbox (notification ${id})`);
    if (!notification) return undefined;
    return {
      notification,
      deliveries: deliveries.flatMap((flat) => deliveryRow(id, flat) ?? []).sort((x, y) => x.channel.localeCompare(y.channel)),
    };
  }

  async counts(): Promise<DeliveryCount[]> {
    const counts = await this.redis.command.hgetall(this.key('counts'));
    return Object.entries(counts).flatMap(([field, value]) => {
      const [channel, state] = field.split('|') as [DeliveryChannel, DeliveryState];
      const count = Number(value);
      return count > 0 ? [{ channel, state, count }] : [];
    });
  }

  async channelHistory(): Promise<ChannelHistory> {
    const [success, failureAt, errors] = await Promise.all([
      this.redis.command.hgetall(this.key('last_success')),
      this.redis.command.hgetall(this.key('last_failure_at')),
      this.redis.command.hgetall(this.key('last_error')),
    ]);
    return {
      lastSuccess: new Map(Object.entries(success).map(([channel, at]) => [channel, Number(at)])),
      lastFailure: new Map(Object.entries(failureAt).map(([channel, at]) => [channel, { at: Number(at), error: errors[channel] ?? '' }])),
    };
  }

  async nextDueAt(): Promise<number | undefined> {
    return ((await this.run(NEXT_DUE, RANKS)) as number | null) ?? undefined;
  }

  async purgeFinished(before: number): Promise<number> {
    let deleted = 0;
    // Notifications kept (still pending) stay in the range, so the next batch starts after them.
    for (let offset = 0; ;) {
      const [gone, seen] = (await this.run(PURGE, before, offset, PURGE_BATCH)) as [number, number];
      deleted += gone;
      offset += seen - gone;
      if (seen < PURGE_BATCH) return deleted;
    }
  }

  /** The connection belongs to RedisModule, which closes it. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  private key(name: string): string {
    return this.prefix + name;
  }

  private async mark(
    id: string,
    channel: DeliveryChannel,
    outcome: 'delivered' | 'retry' | 'failed',
    now: number,
    nextAt: number,
    error: string,
  ): Promise<void> {
    await this.run(MARK, id, channel, outcome, now, nextAt, error);
  }

  private run(lua: LuaScript, ...args: (string | number)[]): Promise<unknown> {
    return lua.run(this.redis.command, [this.prefix, ...args]);
  }
}
