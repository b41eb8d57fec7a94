/**
 * With Redis configured but unreachable, the shared outbox cannot take notifications: accepting one fails with a
 * clear 503 that tells the sender to retry, reads fail the same way, and the service keeps running. Needs no Redis:
 * it points at a port where nothing listens.
 */
import { freePort, getJson, post, sleep, startApp, type RunningApp } from './support/app';

describe('the notification outbox while Redis is unreachable', () => {
  let service: RunningApp;

  beforeAll(async () => {
    service = await startApp({ redis: { url: `redis://127.0.0.1:${await freePort()}` } });
  });
  afterAll(() => service.close());

  const unavailable = {
    error: 'outbox_unavailable',
    message: 'the notification outbox cannot be reached; try again later',
  };

  it('refuses a notification with 503 and Retry-After instead of losing it', async () => {
    const response = await post(service.http, '/notifications/send', { type: 'test', message: 'Test notification', channel: 'websocket' });
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('5');
    expect(response.body).toEqual(unavailable);
  });

  it('refuses an Alertmanager webhook with 503, so that Alertmanager sends it again', async () => {
    const response = await post(service.http, '/notifications/alertmanager', {
      version: '4',
      receiver: 'data-streaming',
      status: 'firing',
      groupKey: '{}:{alertname="X"}',
      alerts: [{ status: 'firing', labels: { alertname: 'X' }, annotations: {}, startsAt: '2030-01-01T00:00:00Z' }],
    });
    expect(response.status).toBe(503);
    expect(response.body).toEqual(unavailable);
  });

  it('answers outbox reads with 503, and goes on serving while the dispatcher polls the outbox', async () => {
    const paths = ['/notifications/status', '/notifications/channels', '/notifications/7f1c1f7e-5c2b-4c47-9a43-2b0b8d1a3e11'];
    const answers = async () => Promise.all(paths.map(async (path) => ({ path, ...(await getJson(service.http, path)) })));
    const expected = paths.map((path) => expect.objectContaining({ path, status: 503, body: unavailable }));
    expect(await answers()).toEqual(expected);
    await sleep(2500);
    expect(await answers()).toEqual(expected);
  });
});
