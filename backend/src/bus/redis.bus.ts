/**
 * The Redis bus: several instances share one Redis. Each channel has a hash (its epoch and last offset), a stream
 * (its history, entry ids `0-<offset>`, trimmed to the history size) and a pub/sub channel (live messages). One Lua
 * script assigns offsets, appends to the stream and publishes, so `epoch:offset` names the same message on every
 * instance and a client may resume on any of them.
 *
 * Live messages reach this instance's listeners in offset order with no gap and no duplicate: a message that skips
 * offsets is held while the missing ones are read from the stream, and after a lost subscription every channel is
 * caught up from the stream.
 *
 * Redis unavailable: the bus goes local. Publishes get positions in a local epoch of this instance, are delivered
 * to its own subscribers at once, kept for resume here, and queued (at most `redis.max_pending`, oldest dropped and
 * counted) to be forwarded to Redis when it returns; forwarded messages carry a flag so this instance does not
 * deliver them twice. Clients resuming from a local position elsewhere are told `recovered: false`.
 *
 * Derived channels (dashboards, high-frequency views) are computed by every instance from the shared stream and
 * stay instance-local: they run on an in-memory bus inside this one.
 *
 * History by time: each stream entry carries `w`, the acceptance time (ms) the publishing script was given. A Lua
 * script finds the first entry at or after a time by binary search over offsets (XRANGE ... COUNT 1 per step, about
 * log2(history_size) steps) and reads the page in the same call: one round trip, never the whole stream.
 */
import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Redis } from 'ioredis';
import type { RedisConnection } from '../redis/redis.connection';
import {
  EpochChangedError,
  HistoryReadError,
  PositionAheadError,
  type Bus,
  type BusOptions,
  type ChannelState,
  type HistoryQuery,
  type HistoryResult,
  type Listener,
  type ReadResult,
  type TimeReadResult,
  type Unsubscribe,
} from './bus.port';
import { MemoryBus } from './memory.bus';
import type { HistoryStorage, Position } from '@data-streaming/protocol';
import {
  IdempotencyConflictError,
  ReceiptCache,
  sharedReceiptSchema,
  type Idempotency,
  type PublishGroup,
  type PublishReceipt,
  type StoredReceipt,
} from './receipts';
import { StreamMessage, type PublishInput } from './stream-message';

/**
 * KEYS: meta, log. ARGV: candidate epoch, max length, origin, forwarded flag, wall ms, live channel, dedup window,
 * then (publish id, tail) pairs. With a dedup window (forwards), events whose publish id is among the stream's newest
 * `window` entries are skipped: a publish that timed out but ran is not appended a second time by its forward
 * (commands on one connection run in order, so such a run always comes first).
 */
const PUBLISH = `
redis.call('HSETNX', KEYS[1], 'epoch', ARGV[1])
local epoch = redis.call('HGET', KEYS[1], 'epoch')
local seen = {}
if tonumber(ARGV[7]) > 0 then
  for _, entry in ipairs(redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', ARGV[7])) do
    local fields = entry[2]
    for j = 1, #fields, 2 do
      if fields[j] == 'u' then seen[fields[j + 1]] = true end
    end
  end
end
local kept = {}
for i = 8, #ARGV, 2 do
  if not seen[ARGV[i]] then table.insert(kept, i) end
end
if #kept == 0 then return {epoch, 0} end
local last = redis.call('HINCRBY', KEYS[1], 'seq', #kept)
local first = last - #kept + 1
for n, i in ipairs(kept) do
  local offset = first + n - 1
  local id = epoch .. ':' .. offset
  local payload = '{"kind":"event","id":"' .. id .. '"' .. ARGV[i + 1]
  redis.call('XADD', KEYS[2], 'MAXLEN', '=', ARGV[2], '0-' .. offset, 'm', payload, 'o', ARGV[3], 'f', ARGV[4], 'w', ARGV[5], 'u', ARGV[i])
  redis.call('PUBLISH', ARGV[6], id .. '\\t' .. ARGV[3] .. '\\t' .. ARGV[4] .. '\\t' .. ARGV[5] .. '\\n' .. payload)
end
return {epoch, first}`;

/** KEYS: meta. ARGV: candidate epoch. The channel's epoch (created if new) and last offset. */
const ENSURE = `
redis.call('HSETNX', KEYS[1], 'epoch', ARGV[1])
return {redis.call('HGET', KEYS[1], 'epoch'), tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')}`;

/**
 * Lua helpers of the time scripts. `lower_bound(log, low, high, t)`: the lowest offset in [low, high] from which every
 * entry was accepted at or after `t` (high when none in [low, high) was), by binary search over offsets; entries are
 * in time order (one clock per publish; instances' clocks agree closely), offsets may have holes.
 */
const TIME_SEARCH = `
local function offset_of(entry) return tonumber(string.sub(entry[1], 3)) end
local function wall_of(entry)
  local fields = entry[2]
  for j = 1, #fields, 2 do
    if fields[j] == 'w' then return tonumber(fields[j + 1]) end
  end
  return 0
end
local function lower_bound(log, low, high, t)
  while low < high do
    local middle = math.floor((low + high) / 2)
    local entry = redis.call('XRANGE', log, '0-' .. middle, '+', 'COUNT', 1)[1]
    if entry == nil or wall_of(entry) >= t then high = middle
    else low = math.min(offset_of(entry) + 1, high) end
  end
  return low
end
local epoch = redis.call('HGET', KEYS[1], 'epoch') or ''
local seq = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
local oldest = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)[1]
`;

/**
 * KEYS: meta, log. ARGV: from (ms). The epoch, the last offset, the oldest entry ({} when none) and every entry
 * accepted at or after `from`.
 */
const READ_FROM = `${TIME_SEARCH}
if oldest == nil then return {epoch, seq, {}, {}} end
local start = lower_bound(KEYS[2], offset_of(oldest), seq + 1, tonumber(ARGV[1]))
return {epoch, seq, oldest, redis.call('XRANGE', KEYS[2], '0-' .. start, '+')}`;

/**
 * KEYS: meta, log. ARGV: from (ms, '' for the oldest held), to (ms), limit, order (asc|desc), after (offset, '' for
 * none). The epoch, the last offset, the oldest entry ({} when none) and up to limit + 1 entries of [from, to] after
 * `after` in the order asked (one more than the page: whether another page follows).
 */
const HISTORY = `${TIME_SEARCH}
if oldest == nil then return {epoch, seq, {}, {}} end
local low = offset_of(oldest)
if ARGV[1] ~= '' then low = lower_bound(KEYS[2], low, seq + 1, tonumber(ARGV[1])) end
local high = lower_bound(KEYS[2], low, seq + 1, tonumber(ARGV[2]) + 1) - 1
local count = tonumber(ARGV[3]) + 1
if ARGV[4] == 'asc' then
  if ARGV[5] ~= '' then low = math.max(low, tonumber(ARGV[5]) + 1) end
  if low > high then return {epoch, seq, oldest, {}} end
  return {epoch, seq, oldest, redis.call('XRANGE', KEYS[2], '0-' .. low, '0-' .. high, 'COUNT', count)}
end
if ARGV[5] ~= '' then high = math.min(high, tonumber(ARGV[5]) - 1) end
if low > high then return {epoch, seq, oldest, {}} end
return {epoch, seq, oldest, redis.call('XREVRANGE', KEYS[2], '0-' .. high, '0-' .. low, 'COUNT', count)}`;

type StreamEntry = [string, string[]];
/** What the time scripts answer: epoch ('' for a channel Redis does not know), last offset, oldest entry, entries. */
type TimeScriptReply = [string, number, StreamEntry | [], StreamEntry[]];

/** The oldest entry of a time script's reply, undefined when the stream is empty. */
const oldestOf = (reply: TimeScriptReply): StreamEntry | undefined => (reply[2].length === 0 ? undefined : reply[2]);

const FORWARD_BATCH = 500;
/** Newest stream entries a forward looks through for publishes that already ran. */
const FORWARD_DEDUP_WINDOW = 2000;
const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 10_000;
const newEpoch = (): string => `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
/** How long a key claimed by a publish under way blocks the same key on other instances, at most. */
const RECEIPT_CLAIM_MS = 30_000;

interface Envelope {
  epoch: string;
  offset: number;
  origin: string;
  forwarded: boolean;
  wallMs: number;
  payload: string;
}

/** What this instance knows of one shared channel. */
class ChannelView {
  epoch: string | undefined;
  /** The newest offset handed to local listeners. */
  lastOffset = 0;
  readonly listeners = new Set<Listener>();
  /** Reading missed offsets from the stream; live messages wait in `held` meanwhile. */
  catchingUp = false;
  held: Envelope[] = [];

  constructor(
    readonly name: string,
    readonly capacity: number,
  ) {}
}

interface PendingPublish {
  channel: string;
  /** Unique per event, kept from the first attempt to every forward, so a publish that ran is not appended twice. */
  id: string;
  tail: string;
}

export interface RedisBusOptions extends BusOptions {
  /** Channels known at start, whose epoch and offset are loaded before the first subscriber. */
  channels: readonly string[];
  /** Channels that each instance derives for itself (not shared). */
  isLocal(channel: string): boolean;
  maxPending: number;
  /** Called with the number of queued publishes dropped because the queue was full. */
  onDropped(count: number): void;
  /** Called with true when positions are shared through Redis, false while they are local. */
  onModeChange(shared: boolean): void;
}

export interface RedisBusStatus extends Record<string, unknown> {
  adapter: 'redis';
  target: string;
  instance: string;
  connected: boolean;
  mode: 'shared' | 'local';
  pending_forward: number;
  dropped_forward: number;
  degraded?: string;
}

export class RedisBus implements Bus {
  private readonly logger = new Logger(RedisBus.name);
  private readonly local: MemoryBus;
  private readonly views = new Map<string, ChannelView>();
  private readonly subscriber: Redis;
  private readonly livePrefix: string;
  /** Local mode: positions come from `outage`, an in-memory bus of this instance, until the queue is forwarded. */
  private outage: MemoryBus | undefined;
  private pending: PendingPublish[] = [];
  private dropped = 0;
  private forwarding = false;
  private closed = false;
  /** Retries of `recover` while Redis answers but the bus is still local (a failed publish, a failed forward). */
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelayMs = RETRY_FIRST_MS;
  /** Numbers this instance's published events: with the instance id, the publish id that makes forwards idempotent. */
  private publishCount = 0;
  /** Keys being published here, and receipts to fall back on while Redis cannot be asked. */
  private readonly receipts: ReceiptCache;

  constructor(
    private readonly redis: RedisConnection,
    private readonly options: RedisBusOptions,
  ) {
    this.local = new MemoryBus(options);
    this.receipts = new ReceiptCache(options.idempotency);
    this.livePrefix = redis.key('live', '');
    this.subscriber = redis.subscriber();
    this.subscriber.on('pmessage', (_pattern: string, channel: string, text: string) => this.receive(channel, text));
    // After a reconnect ioredis subscribes again by itself; what was published meanwhile is read from the streams.
    this.subscriber.on('ready', () => void this.catchUpAll());
    redis.on('up', () => void this.recover());
    redis.on('down', () => this.goLocal('Redis connection lost'));
  }

  /** Subscribes to every shared channel and loads the known channels' positions (local mode if Redis is down). */
  async start(): Promise<void> {
    await this.subscriber.psubscribe(`${this.livePrefix}*`).catch(() => undefined);
    if (!this.redis.available) {
      this.goLocal(`Redis unavailable at start${this.redis.lastError ? `: ${this.redis.lastError}` : ''}`);
      return;
    }
    this.options.onModeChange(true);
    try {
      for (const channel of this.options.channels) if (!this.options.isLocal(channel)) await this.ensure(this.view(channel));
    } catch (error) {
      this.goLocal(`Redis failed at start: ${this.redis.describe(error)}`);
    }
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
  }

  private keys(channel: string): { meta: string; log: string; live: string } {
    return { meta: this.redis.key('meta', channel), log: this.redis.key('log', channel), live: this.livePrefix + channel };
  }

  private view(channel: string): ChannelView {
    let view = this.views.get(channel);
    if (!view) {
      view = new ChannelView(channel, this.options.retention(channel).capacity);
      this.views.set(channel, view);
    }
    return view;
  }

  private async ensure(view: ChannelView): Promise<void> {
    const [epoch, seq] = (await this.redis.command.eval(ENSURE, 1, this.keys(view.name).meta, newEpoch())) as [string, number];
    if (view.epoch === undefined) {
      view.epoch = epoch;
      view.lastOffset = seq;
    }
  }

  async publish(channel: string, events: readonly PublishInput[]): Promise<StreamMessage[]> {
    if (this.options.isLocal(channel)) return this.local.publish(channel, events);
    const acceptedAt = performance.now();
    const wallMs = Date.now();
    const items = events.map((input) => ({
      channel,
      id: `${this.redis.instanceId}.${(++this.publishCount).toString(36)}`,
      tail: tail(channel, input),
    }));
    if (!this.outage) {
      try {
        const [epoch, first] = await this.append(channel, items, false, wallMs);
        return items.map((item, index) => messageOf(channel, epoch, first + index, item.tail, acceptedAt, wallMs));
      } catch (error) {
        // Not known whether the script ran; if it did, the forward finds the publish ids and skips them.
        this.goLocal(`publish to Redis failed: ${this.redis.describe(error)}`);
      }
    }
    return this.publishLocally(channel, events, items, acceptedAt);
  }

  /**
   * Groups are appended one after the other (one script each). With a key, the receipt is claimed in Redis first
   * (SET NX), so the same key on another instance waits or replays; it is written when every group is appended.
   * The groups of one request are not one transaction here: a crash between them leaves the earlier ones appended,
   * and a retry after the claim expires appends the request again (docs/OPERATIONS.md).
   */
  async publishRequest(groups: readonly PublishGroup[], idempotency?: Idempotency): Promise<PublishReceipt> {
    const publishAll = async (): Promise<string[][]> => {
      const ids: string[][] = [];
      for (const group of groups) ids.push((await this.publish(group.channel, group.events)).map((message) => message.id));
      return ids;
    };
    if (!idempotency) return { ids: await publishAll(), replayed: false };
    const local = this.receipts.begin(idempotency);
    if (local) return local;
    let claimed = false;
    try {
      const shared = await this.claimReceipt(idempotency).catch((error: unknown) => {
        if (error instanceof IdempotencyConflictError) throw error;
        return 'unavailable' as const; // Redis cannot be asked: this instance's receipts decide alone
      });
      if (shared !== 'unavailable' && shared !== 'claimed') {
        this.receipts.settle(idempotency, shared.ids, shared.at);
        return { ids: shared.ids, replayed: true };
      }
      claimed = shared === 'claimed';
      const ids = await publishAll();
      const receipt: StoredReceipt = { fingerprint: idempotency.fingerprint, ids, at: Date.now() };
      this.receipts.settle(idempotency, ids, receipt.at);
      await this.redis.command
        .set(this.redis.key('receipt', idempotency.key), JSON.stringify(receipt), 'PX', this.options.idempotency.windowMs)
        .catch(() => undefined);
      return { ids, replayed: false };
    } catch (error) {
      this.receipts.settle(idempotency, undefined);
      if (claimed) await this.redis.command.del(this.redis.key('receipt', idempotency.key)).catch(() => undefined);
      throw error;
    }
  }

  /** 'claimed' when this request may publish; the stored receipt when the key was published; throws on a conflict. */
  private async claimReceipt(idempotency: Idempotency): Promise<'claimed' | StoredReceipt> {
    const key = this.redis.key('receipt', idempotency.key);
    const claim = JSON.stringify({ pending: idempotency.fingerprint });
    const claimMs = Math.min(RECEIPT_CLAIM_MS, this.options.idempotency.windowMs);
    if ((await this.redis.command.set(key, claim, 'PX', claimMs, 'NX')) === 'OK') return 'claimed';
    const text = await this.redis.command.get(key);
    // Gone since the claim failed (it expired): as if still under way; the client's retry claims it.
    if (text === null) throw new IdempotencyConflictError('in_progress');
    const stored = sharedReceiptSchema.safeParse(JSON.parse(text));
    if (!stored.success) throw new Error(`unreadable receipt in Redis for an idempotency key: ${stored.error.message}`);
    if ('pending' in stored.data) {
      throw new IdempotencyConflictError(stored.data.pending === idempotency.fingerprint ? 'in_progress' : 'mismatch');
    }
    if (stored.data.fingerprint !== idempotency.fingerprint) throw new IdempotencyConflictError('mismatch');
    return stored.data;
  }

  /** `wallMs`: the acceptance time kept with the entries (`w`), what history by time goes by. */
  private async append(
    channel: string,
    items: readonly PendingPublish[],
    forwarded: boolean,
    wallMs = Date.now(),
  ): Promise<[string, number]> {
    const { meta, log, live } = this.keys(channel);
    const result = (await this.redis.command.eval(
      PUBLISH,
      2,
      meta,
      log,
      newEpoch(),
      this.options.retention(channel).capacity,
      this.redis.instanceId,
      forwarded ? '1' : '0',
      wallMs,
      live,
      forwarded ? FORWARD_DEDUP_WINDOW : 0,
      ...items.flatMap((item) => [item.id, item.tail]),
    )) as [string, number];
    return result;
  }

  private publishLocally(
    channel: string,
    events: readonly PublishInput[],
    items: readonly PendingPublish[],
    acceptedAt: number,
  ): StreamMessage[] {
    const outage = this.outage as MemoryBus;
    this.pending.push(...items);
    const overflow = this.pending.length - this.options.maxPending;
    if (overflow > 0) {
      this.pending.splice(0, overflow);
      this.dropped += overflow;
      this.options.onDropped(overflow);
      this.logger.warn(
        `Dropped ${overflow} queued publishes: more than redis.max_pending (${this.options.maxPending}) while Redis is down`,
      );
    }
    return outage.publishNow(channel, events, acceptedAt);
  }

  /** Switches to local positions (idempotent). Listeners see the local epoch from the next message on. */
  private goLocal(reason: string): void {
    if (this.outage || this.closed) return;
    this.logger.warn(`${reason}: serving this instance's clients from local positions until Redis is back`);
    this.outage = new MemoryBus(this.options);
    this.options.onModeChange(false);
    // The connection may still be up (a timed-out command, a script error): then no 'up' event will come.
    if (this.redis.available) this.scheduleRecover();
    for (const view of this.views.values()) {
      for (const listener of view.listeners) this.outage.subscribe(view.name, listener);
    }
  }

  /** Redis is back: forward what was published meanwhile, then return to shared positions and catch up. */
  private async recover(): Promise<void> {
    if (this.forwarding || this.closed) return;
    this.forwarding = true;
    try {
      while (this.pending.length > 0 && this.redis.available) {
        const channel = (this.pending[0] as PendingPublish).channel;
        let count = 0;
        while (count < FORWARD_BATCH && count < this.pending.length && (this.pending[count] as PendingPublish).channel === channel) count++;
        await this.append(channel, this.pending.slice(0, count), true);
        this.pending.splice(0, count);
      }
      if (this.pending.length === 0 && this.outage) {
        this.outage = undefined;
        this.retryDelayMs = RETRY_FIRST_MS;
        this.options.onModeChange(true);
        this.logger.log('Redis is back: queued publishes forwarded; shared positions again');
      }
      await this.catchUpAll();
    } catch (error) {
      this.logger.warn(`Forwarding to Redis failed (${this.redis.describe(error)}); ${this.pending.length} publishes still queued`);
    } finally {
      this.forwarding = false;
      if (this.outage && this.redis.available) this.scheduleRecover();
    }
  }

  private scheduleRecover(): void {
    if (this.retryTimer || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.recover();
    }, this.retryDelayMs);
    this.retryTimer.unref();
    this.retryDelayMs = Math.min(this.retryDelayMs * 2, RETRY_MAX_MS);
  }

  private receive(redisChannel: string, text: string): void {
    if (this.outage) return; // read from the stream once shared positions return
    const channel = redisChannel.slice(this.livePrefix.length);
    const envelope = parseEnvelope(text);
    if (!envelope) return;
    const view = this.view(channel);
    if (view.catchingUp) {
      view.held.push(envelope);
      return;
    }
    if (view.epoch !== undefined && envelope.epoch === view.epoch && envelope.offset > view.lastOffset + 1) {
      view.held.push(envelope);
      void this.catchUp(view);
      return;
    }
    this.deliver(view, envelope);
  }

  private deliver(view: ChannelView, envelope: Envelope): void {
    if (envelope.epoch !== view.epoch) {
      // A new epoch: the channel's state was lost in Redis (flushed, or restarted without persistence).
      view.epoch = envelope.epoch;
      view.lastOffset = 0;
    }
    if (envelope.offset <= view.lastOffset) return;
    view.lastOffset = envelope.offset;
    if (envelope.forwarded && envelope.origin === this.redis.instanceId) return; // delivered here while local
    if (view.listeners.size === 0) return;
    const acceptedAt = performance.now() - Math.max(0, Date.now() - envelope.wallMs);
    const message = new StreamMessage(view.name, envelope.epoch, envelope.offset, undefined, envelope.payload, acceptedAt, envelope.wallMs);
    for (const listener of view.listeners) listener(message);
    message.release();
  }

  private async catchUpAll(): Promise<void> {
    if (this.outage) return;
    for (const view of this.views.values()) if (!view.catchingUp) await this.catchUp(view);
  }

  /** Reads what the stream holds after the view's offset, delivers it, then the live messages held meanwhile. */
  private async catchUp(view: ChannelView): Promise<void> {
    view.catchingUp = true;
    try {
      const { meta, log } = this.keys(view.name);
      const [epoch, seq] = await this.redis.command.hmget(meta, 'epoch', 'seq');
      if (epoch === null || epoch === undefined) return;
      if (epoch !== view.epoch) {
        view.epoch = epoch;
        view.lastOffset = 0;
      }
      if (Number(seq) > view.lastOffset) {
        for (const envelope of entriesOf(await this.redis.command.xrange(log, `(0-${view.lastOffset}`, '+'), epoch)) {
          this.deliver(view, envelope);
        }
      }
    } catch (error) {
      this.logger.warn(`Could not read missed messages of ${view.name} from Redis: ${this.redis.describe(error)}`);
    } finally {
      view.catchingUp = false;
      const held = view.held;
      view.held = [];
      for (const envelope of held) this.deliver(view, envelope);
    }
  }

  subscribe(channel: string, listener: Listener): Unsubscribe {
    if (this.options.isLocal(channel)) return this.local.subscribe(channel, listener);
    const view = this.view(channel);
    view.listeners.add(listener);
    const fromOutage = this.outage?.subscribe(channel, listener);
    if (view.epoch === undefined && !this.outage) void this.ensure(view).catch(() => undefined);
    return () => {
      view.listeners.delete(listener);
      fromOutage?.();
    };
  }

  async read(channel: string, after: Position): Promise<ReadResult> {
    if (this.options.isLocal(channel)) return this.local.read(channel, after);
    if (this.outage) {
      const state = this.outage.state(channel);
      if (after.epoch === state.epoch) return this.outage.read(channel, after);
      return { messages: [], recovered: false, reason: 'history_unavailable' };
    }
    const { meta, log } = this.keys(channel);
    let epoch: string | null;
    let last: number;
    let entries: [string, string[]][];
    try {
      const [[known, seq], held] = await Promise.all([
        this.redis.command.hmget(meta, 'epoch', 'seq'),
        this.redis.command.xrange(log, `(0-${after.offset}`, '+'),
      ]);
      epoch = known ?? null;
      last = Number(seq ?? 0);
      // Another epoch: everything of the current one is new to the client, as far as history reaches.
      entries = epoch !== null && after.epoch !== epoch ? await this.redis.command.xrange(log, '-', '+') : held;
    } catch {
      return { messages: [], recovered: false, reason: 'history_unavailable' };
    }
    if (epoch === null) return { messages: [], recovered: false, reason: 'epoch_changed' };
    if (after.epoch !== epoch) return { messages: this.messagesOf(channel, entries, epoch), recovered: false, reason: 'epoch_changed' };
    if (after.offset > last) throw new PositionAheadError(channel, after, last);
    const messages = this.messagesOf(channel, entries, epoch);
    const firstHeld = messages[0]?.offset ?? last + 1;
    const recovered = after.offset + 1 >= firstHeld;
    return { messages, recovered, ...(recovered ? {} : { reason: 'history_exceeded' as const }) };
  }

  async readFrom(channel: string, from: number): Promise<TimeReadResult> {
    if (this.options.isLocal(channel)) return this.local.readFrom(channel, from);
    if (this.outage) {
      // What this instance accepted while local is all it can read; the shared history before it is out of reach.
      const local = await this.outage.readFrom(channel, from);
      return { ...local, recovered: false, reason: 'history_unavailable', reached: local.messages[0]?.at ?? Date.now() };
    }
    const { meta, log } = this.keys(channel);
    let reply: TimeScriptReply;
    try {
      reply = (await this.redis.command.eval(READ_FROM, 2, meta, log, from)) as TimeScriptReply;
    } catch {
      return { messages: [], recovered: false, reason: 'history_unavailable', reached: Date.now() };
    }
    const [epoch, last, , entries] = reply;
    const oldest = oldestOf(reply);
    // A channel Redis does not know has had no message: nothing is missing.
    if (epoch === '') return { messages: [], recovered: true, reached: from };
    const recovered = last === 0 || (oldest !== undefined && keepsSince(oldest, from));
    return {
      messages: this.messagesOf(channel, entries, epoch),
      recovered,
      ...(recovered ? {} : { reason: 'history_exceeded' as const }),
      // Nothing held although messages were published: history reaches back to now only.
      reached: recovered ? from : oldest ? wallOf(oldest) : Date.now(),
      through: { epoch, offset: last },
    };
  }

  async history(channel: string, query: HistoryQuery): Promise<HistoryResult> {
    if (this.options.isLocal(channel)) return this.local.history(channel, query);
    if (this.outage) throw new HistoryReadError('Redis is unreachable; this instance serves live events only');
    const { meta, log } = this.keys(channel);
    const { after, limit, order } = query;
    let reply: TimeScriptReply;
    try {
      reply = (await this.redis.command.eval(
        HISTORY,
        2,
        meta,
        log,
        query.from ?? '',
        query.to,
        limit,
        order,
        after?.offset ?? '',
      )) as TimeScriptReply;
    } catch (error) {
      throw new HistoryReadError(this.redis.describe(error));
    }
    const [known, last, , entries] = reply;
    const oldest = oldestOf(reply);
    // A channel Redis does not know yet: its epoch is created as the first subscriber or publisher would.
    const epoch = known === '' ? await this.ensureEpoch(channel) : known;
    if (after && after.epoch !== epoch) throw new EpochChangedError(channel, after, epoch);
    if (after && after.offset > last) throw new PositionAheadError(channel, after, last);
    const messages = this.messagesOf(channel, entries.slice(0, limit), epoch);
    if (!oldest) return { epoch, messages, more: false, complete: query.from === undefined || last === 0 };
    const first = offsetOf(oldest);
    return {
      epoch,
      messages,
      more: entries.length > limit,
      oldest: { id: `${epoch}:${first}`, at: wallOf(oldest) },
      complete: (query.from === undefined || keepsSince(oldest, query.from)) && (order === 'desc' || !after || after.offset + 1 >= first),
    };
  }

  /** The channel's epoch, created as its first subscriber or publisher would create it. */
  private async ensureEpoch(channel: string): Promise<string> {
    try {
      const [epoch] = (await this.redis.command.eval(ENSURE, 1, this.keys(channel).meta, newEpoch())) as [string, number];
      return epoch;
    } catch (error) {
      throw new HistoryReadError(this.redis.describe(error));
    }
  }

  private messagesOf(channel: string, entries: [string, string[]][], epoch: string): StreamMessage[] {
    return entriesOf(entries, epoch).map((envelope) =>
      new StreamMessage(
        channel,
        envelope.epoch,
        envelope.offset,
        undefined,
        envelope.payload,
        performance.now(),
        envelope.wallMs || undefined,
      ).release(),
    );
  }

  state(channel: string): ChannelState {
    if (this.options.isLocal(channel)) return this.local.state(channel);
    if (this.outage) return this.outage.state(channel);
    const view = this.view(channel);
    const lastOffset = view.lastOffset;
    const firstOffset = lastOffset === 0 ? 0 : Math.max(1, lastOffset - view.capacity + 1);
    return {
      // Until Redis answers for a new channel, its epoch is a placeholder no client position can match.
      epoch: view.epoch ?? 'unknown',
      lastOffset,
      firstOffset,
      depth: lastOffset === 0 ? 0 : lastOffset - firstOffset + 1,
      capacity: view.capacity,
    };
  }

  status(): RedisBusStatus {
    const degraded = !this.redis.available
      ? `Redis unreachable at ${this.redis.target}${this.redis.lastError ? ` (${this.redis.lastError})` : ''}`
      : this.outage
        ? `forwarding ${this.pending.length} publishes queued while Redis was unreachable`
        : undefined;
    return {
      adapter: 'redis',
      target: this.redis.target,
      instance: this.redis.instanceId,
      connected: this.redis.available,
      mode: this.outage ? 'local' : 'shared',
      pending_forward: this.pending.length,
      dropped_forward: this.dropped,
      ...(degraded === undefined ? {} : { degraded }),
    };
  }

  storage(): HistoryStorage {
    return { durability: 'redis', target: this.redis.target };
  }

  check(): Promise<Record<string, unknown>> {
    return Promise.resolve(this.status());
  }
}

/** The JSON of a wire event after its id: the script puts `{"kind":"event","id":"<epoch:offset>"` in front. */
const tail = (channel: string, input: PublishInput): string =>
  `,${JSON.stringify({
    channel,
    type: input.type,
    timestamp: input.timestamp ?? new Date().toISOString(),
    ...(input.key === undefined ? {} : { key: input.key }),
    data: input.data,
  }).slice(1)}`;

function messageOf(channel: string, epoch: string, offset: number, text: string, acceptedAt: number, wallMs: number): StreamMessage {
  return new StreamMessage(channel, epoch, offset, undefined, `{"kind":"event","id":"${epoch}:${offset}"${text}`, acceptedAt, wallMs);
}

function parseEnvelope(text: string): Envelope | undefined {
  const newline = text.indexOf('\n');
  const [id, origin, forwarded, wall] = text.slice(0, newline).split('\t');
  const colon = id?.indexOf(':') ?? -1;
  if (newline < 0 || !id || colon < 0 || origin === undefined) return undefined;
  return {
    epoch: id.slice(0, colon),
    offset: Number(id.slice(colon + 1)),
    origin,
    forwarded: forwarded === '1',
    wallMs: Number(wall),
    payload: text.slice(newline + 1),
  };
}

const offsetOf = (entry: StreamEntry): number => Number(entry[0].slice(entry[0].indexOf('-') + 1));

function wallOf([, fields]: StreamEntry): number {
  return Number(fields[fields.indexOf('w') + 1] ?? 0);
}

/**
 * Whether the stream still holds every entry accepted at or after `from`, given its oldest entry: it is the
 * channel's first, or older than `from`. (Which entries were trimmed is not known, only that they came before it.)
 */
function keepsSince(oldest: StreamEntry, from: number): boolean {
  return offsetOf(oldest) === 1 || wallOf(oldest) < from;
}

function entriesOf(entries: [string, string[]][], epoch: string): Envelope[] {
  return entries.map(([id, fields]) => {
    const field = (name: string): string => fields[fields.indexOf(name) + 1] ?? '';
    return {
      epoch,
      offset: Number(id.slice(id.indexOf('-') + 1)),
      origin: field('o'),
      forwarded: field('f') === '1',
      wallMs: Number(field('w')),
      payload: field('m'),
    };
  });
}
