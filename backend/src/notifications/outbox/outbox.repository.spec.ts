import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Notification } from '../notification';
import { OutboxRepository } from './outbox.repository';

const notification = (key: string, priority: Notification['priority'] = 'info'): Notification => ({
  id: `id-${key}`,
  idempotency_key: key,
  type: 'test',
  status: 'info',
  priority,
  title: 't',
  message: 'm',
  labels: {},
  created_at: new Date(0).toISOString(),
  channels: ['websocket', 'email'],
});

describe('OutboxRepository', () => {
  const path = () => join(mkdtempSync(join(tmpdir(), 'dsa-outbox-')), 'outbox.sqlite');

  it('stores a notification once per idempotency key, with a delivery row per channel', () => {
    const outbox = new OutboxRepository(path());
    expect(outbox.insert(notification('a'), [{ channel: 'websocket' }, { channel: 'email', failed: 'not configured' }], 1000)).toEqual({
      id: 'id-a',
      created: true,
    });
    expect(outbox.insert({ ...notification('a'), id: 'other' }, [{ channel: 'websocket' }], 1000)).toEqual({ id: 'id-a', created: false });
    expect(outbox.find('id-a')?.deliveries.map((row) => [row.channel, row.state, row.last_error])).toEqual([
      ['email', 'failed', 'not configured'],
      ['websocket', 'pending', null],
    ]);
    outbox.close();
  });

  it('claims due deliveries most urgent first, leases them, and hands them out again only after the lease', () => {
    const outbox = new OutboxRepository(path());
    outbox.insert(notification('info', 'info'), [{ channel: 'websocket' }], 1000);
    outbox.insert(notification('crit', 'critical'), [{ channel: 'websocket' }], 1000);
    const first = outbox.claimDue(1, 5000, 2000);
    expect(first.map((claim) => [claim.notification.idempotency_key, claim.attempts])).toEqual([['crit', 1]]);
    expect(outbox.claimDue(10, 5000, 2000).map((claim) => claim.notification.idempotency_key)).toEqual(['info']);
    expect(outbox.claimDue(10, 5000, 3000)).toEqual([]);
    expect(outbox.claimDue(10, 5000, 7001).map((claim) => claim.attempts)).toEqual([2, 2]);
    outbox.close();
  });

  it('survives reopening: pending work and leases from a dead process come back', () => {
    const file = path();
    const before = new OutboxRepository(file);
    before.insert(notification('a'), [{ channel: 'websocket' }, { channel: 'email' }], 1000);
    before.claimDue(10, 60_000, 2000);
    before.markDelivered('id-a', 'websocket', 2500);
    before.close();
    const after = new OutboxRepository(file);
    expect(after.claimDue(10, 1000, 3000)).toEqual([]);
    expect(after.releaseLeases()).toBe(1);
    expect(after.claimDue(10, 1000, 3000).map((claim) => claim.channel)).toEqual(['email']);
    after.close();
  });

  it('schedules retries, fails for good with a reason, and purges only finished notifications', () => {
    const outbox = new OutboxRepository(path());
    outbox.insert(notification('a'), [{ channel: 'websocket' }, { channel: 'email' }], 1000);
    outbox.insert(notification('b'), [{ channel: 'websocket' }], 1000);
    outbox.claimDue(10, 100, 1000);
    outbox.markRetry('id-a', 'email', 9000, 'SMTP: timed out', 1100);
    outbox.markDelivered('id-a', 'websocket', 1100);
    outbox.markFailed('id-b', 'websocket', 'Slack: HTTP 404', 1100);
    expect(outbox.nextDueAt()).toBe(9000);
    expect(outbox.counts().sort((x, y) => x.channel.localeCompare(y.channel) || x.state.localeCompare(y.state))).toEqual([
      { channel: 'email', state: 'pending', count: 1 },
      { channel: 'websocket', state: 'delivered', count: 1 },
      { channel: 'websocket', state: 'failed', count: 1 },
    ]);
    expect(outbox.purgeFinished(5000)).toBe(1);
    expect(outbox.find('id-b')).toBeUndefined();
    expect(outbox.find('id-a')?.deliveries.find((row) => row.channel === 'email')?.last_error).toBe('SMTP: timed out');
    outbox.close();
  });
});
