import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { notificationId as idOf, storedNotification as notification } from '../../../test/support/factories';
import { outboxContract } from '../../../test/support/outbox-contract';
import { SqliteOutbox } from './sqlite.outbox';

describe('SqliteOutbox', () => {
  const path = () => join(mkdtempSync(join(tmpdir(), 'dsa-outbox-')), 'outbox.sqlite');

  // One process per file: both handles are the same repository.
  outboxContract(() => {
    const outbox = new SqliteOutbox(path(), 2048);
    return Promise.resolve([outbox, outbox] as const);
  });

  it('survives reopening: pending work and leases from a dead process come back', async () => {
    const file = path();
    const before = new SqliteOutbox(file, 2048);
    await before.insert(notification('a'), [{ channel: 'websocket' }, { channel: 'email' }], 1000);
    await before.claimDue(10, 60_000, 2000);
    await before.markDelivered(idOf('a'), 'websocket', 2500);
    await before.close();
    const after = new SqliteOutbox(file, 2048);
    expect(await after.claimDue(10, 1000, 3000)).toEqual([]);
    expect(await after.releaseLeases()).toBe(1);
    expect((await after.claimDue(10, 1000, 3000)).map((claim) => claim.channel)).toEqual(['email']);
    await after.close();
  });

  it('rejects, rather than throws, when the database cannot be used', async () => {
    const outbox = new SqliteOutbox(path(), 2048);
    await outbox.close();
    await expect(outbox.counts()).rejects.toThrow(/not open/);
  });
});
