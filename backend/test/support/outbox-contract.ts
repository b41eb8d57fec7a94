/**
 * What every outbox adapter must do, as seen by two instances sharing it. `open` returns two handles on one fresh,
 * empty outbox: two instances for Redis, the same object twice for SQLite (one process, one file).
 */
import type { Outbox } from '../../src/notifications/outbox/outbox.port';
import { notificationId as idOf, storedNotification as notification } from './factories';

export function outboxContract(open: () => Promise<readonly [Outbox, Outbox]>): void {
  const byChannelAndState = (rows: { channel: string; state: string }[]) =>
    [...rows].sort((x, y) => x.channel.localeCompare(y.channel) || x.state.localeCompare(y.state));
  let handles: readonly [Outbox, Outbox];
  beforeEach(async () => (handles = await open()));
  afterEach(async () => {
    for (const outbox of new Set(handles)) await outbox.close();
  });

  it('stores a notification once per idempotency key, with a delivery row per channel', async () => {
    const [a, b] = handles;
    expect(await a.insert(notification('a'), [{ channel: 'websocket' }, { channel: 'email', failed: 'not configured' }], 1000)).toEqual({
      id: idOf('a'),
      created: true,
    });
    expect(await b.insert({ ...notification('a'), id: idOf('other') }, [{ channel: 'websocket' }], 1000)).toEqual({
      id: idOf('a'),
      created: false,
    });
    expect(await b.find(idOf('other'))).toBeUndefined();
    expect(await b.find(idOf('a'))).toEqual({
      notification: notification('a'),
      deliveries: [
        {
          notification_id: idOf('a'),
          channel: 'email',
          state: 'failed',
          attempts: 0,
          next_attempt_at: 1000,
          last_error: 'not configured',
          delivered_at: null,
          updated_at: 1000,
        },
        {
          notification_id: idOf('a'),
          channel: 'websocket',
          state: 'pending',
          attempts: 0,
          next_attempt_at: 1000,
          last_error: null,
          delivered_at: null,
          updated_at: 1000,
        },
      ],
    });
  });

  it('claims due deliveries most urgent first, leases them, and hands them out again only after the lease', async () => {
    const [a, b] = handles;
    await a.insert(notification('info', 'info'), [{ channel: 'websocket' }], 1000);
    await b.insert(notification('crit', 'critical'), [{ channel: 'websocket' }], 1000);
    expect(await a.claimDue(0, 5000, 2000)).toEqual([]);
    const first = await a.claimDue(1, 5000, 2000);
    expect(first.map((claim) => [claim.notification, claim.channel, claim.attempts])).toEqual([
      [notification('crit', 'critical'), 'websocket', 1],
    ]);
    expect((await b.claimDue(10, 5000, 2000)).map((claim) => claim.notification.idempotency_key)).toEqual(['info']);
    expect(await a.claimDue(10, 5000, 3000)).toEqual([]);
    expect(await b.claimDue(10, 5000, 3000)).toEqual([]);
    expect(await a.nextDueAt()).toBe(7000);
    const again = await b.claimDue(10, 5000, 7001);
    expect(again.map((claim) => [claim.notification.idempotency_key, claim.attempts]).sort()).toEqual([
      ['crit', 2],
      ['info', 2],
    ]);
  });

  it('records outcomes only on pending deliveries, counts them, and purges only finished notifications', async () => {
    const [a, b] = handles;
    await a.insert(notification('a'), [{ channel: 'websocket' }, { channel: 'email' }], 1000);
    await b.insert(notification('b'), [{ channel: 'websocket' }], 1000);
    expect(await a.nextDueAt()).toBe(1000);
    await a.claimDue(10, 100, 1000);
    await a.markRetry(idOf('a'), 'email', 9000, 'SMTP: timed out', 1100);
    await b.markDelivered(idOf('a'), 'websocket', 1100);
    await a.markFailed(idOf('b'), 'websocket', 'Slack: HTTP 404', 1100);
    // Late outcomes of an attempt whose delivery is already finished change nothing.
    await b.markFailed(idOf('a'), 'websocket', 'late', 1200);
    await b.markRetry(idOf('b'), 'websocket', 1300, 'late', 1200);
    await a.markDelivered(idOf('b'), 'websocket', 1200);

    expect(await b.nextDueAt()).toBe(9000);
    expect(await b.claimDue(10, 100, 8999)).toEqual([]);
    expect(
      (await b.find(idOf('a')))?.deliveries.map((row) => [row.channel, row.state, row.attempts, row.last_error, row.delivered_at]),
    ).toEqual([
      ['email', 'pending', 1, 'SMTP: timed out', null],
      ['websocket', 'delivered', 1, null, 1100],
    ]);
    expect((await b.find(idOf('b')))?.deliveries.map((row) => [row.state, row.last_error, row.updated_at])).toEqual([
      ['failed', 'Slack: HTTP 404', 1100],
    ]);
    expect(byChannelAndState(await b.counts())).toEqual([
      { channel: 'email', state: 'pending', count: 1 },
      { channel: 'websocket', state: 'delivered', count: 1 },
      { channel: 'websocket', state: 'failed', count: 1 },
    ]);
    expect(await b.channelHistory()).toEqual({
      lastSuccess: new Map([['websocket', 1100]]),
      lastFailure: new Map([
        ['email', { at: 1100, error: 'SMTP: timed out' }],
        ['websocket', { at: 1100, error: 'Slack: HTTP 404' }],
      ]),
    });

    expect(await a.purgeFinished(1000)).toBe(0);
    expect(await a.purgeFinished(5000)).toBe(1);
    expect(await b.purgeFinished(5000)).toBe(0);
    expect(await b.find(idOf('b'))).toBeUndefined();
    expect(byChannelAndState(await b.counts())).toEqual([
      { channel: 'email', state: 'pending', count: 1 },
      { channel: 'websocket', state: 'delivered', count: 1 },
    ]);
    // A purged notification's idempotency key may be used again.
    expect(await b.insert(notification('b'), [{ channel: 'websocket' }], 6000)).toEqual({ id: idOf('b'), created: true });

    await b.markDelivered(idOf('a'), 'email', 9500);
    expect(await a.nextDueAt()).toBe(6000);
    expect(await a.purgeFinished(5000)).toBe(1);
    expect(await a.find(idOf('a'))).toBeUndefined();
  });
}
