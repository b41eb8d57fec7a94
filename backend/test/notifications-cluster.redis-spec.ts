/**
 * Two service processes sharing one real Redis (TEST_REDIS_URL, default redis://127.0.0.1:6379) under a
 * key prefix of this run's own: the same Alertmanager alert sent to both is delivered once per channel, and the
 * deliveries of an instance killed mid-attempt are taken over by another once their lease runs out.
 */
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { eventually, getJson, post } from './support/app';
import { startService, type ServiceProcess } from './support/process';
import { startSmtp, startWebhook } from './support/receivers';

type Smtp = Awaited<ReturnType<typeof startSmtp>>;
type Webhook = Awaited<ReturnType<typeof startWebhook>>;
type Service = ServiceProcess & { http: string };

const url = process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379';
const prefix = `dsa-test-${randomBytes(4).toString('hex')}:`;

describe('notifications across instances sharing Redis', () => {
  let redis: Redis;
  let smtp: Smtp;
  let slack: Webhook;
  let services: Service[] = [];

  const start = async (): Promise<Service> => {
    const service = await startService({
      DATA_STREAMING_REDIS_URL: url,
      DATA_STREAMING_REDIS_KEY_PREFIX: prefix,
      NOTIFICATIONS_SMTP_URL: smtp.url,
      NOTIFICATIONS_EMAIL_FROM: 'alerts@example.com',
      NOTIFICATIONS_EMAIL_TO: 'oncall@example.com',
      NOTIFICATIONS_SLACK_WEBHOOK_URL: slack.url,
      REAL_TIME_NOTIFICATIONS_DELIVERY_TIMEOUT: '1',
      REAL_TIME_NOTIFICATIONS_RETRY_BASE_DELAY: '0.05',
    });
    services.push(service);
    return service;
  };
  const stop = async (service: Service) => {
    service.child.kill('SIGKILL');
    await service.exited;
  };
  const delivery = (service: Service, id: string, channel: string) =>
    eventually(
      async () => {
        const found = (await getJson(service.http, `/notifications/${id}`)).body;
        const row = found.deliveries?.find((item: { channel: string }) => item.channel === channel);
        return row?.state === 'pending' ? undefined : row;
      },
      15_000,
      `delivery of ${id} by ${channel}`,
    );

  beforeAll(async () => {
    redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    await redis.connect();
    [smtp, slack] = await Promise.all([startSmtp(), startWebhook()]);
  });
  afterEach(async () => {
    await Promise.all(services.map(stop));
    services = [];
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    await Promise.all([smtp.close(), slack.close()]);
  });

  it('delivers an alert sent to both instances once per channel', async () => {
    const [a, b] = await Promise.all([start(), start()]);
    const payload = {
      version: '4',
      receiver: 'data-streaming-api',
      status: 'firing',
      groupKey: '{}:{alertname="DataStreamingErrorRateHigh"}',
      alerts: ['c1', 'c2'].map((fingerprint) => ({
        status: 'firing',
        labels: { alertname: 'DataStreamingErrorRateHigh', severity: 'critical' },
        annotations: { summary: 'Error rate above 5%' },
        startsAt: '2030-01-01T00:00:00Z',
        fingerprint,
      })),
    };
    const answers = await Promise.all([a, b, a, b].map((service) => post(service.http, '/notifications/alertmanager', payload)));
    const bodies = answers.map((answer) => answer.body as { accepted: number; deduplicated: number; ids: string[] });
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200]);
    expect(bodies.reduce((sum, body) => sum + body.accepted, 0)).toBe(2);
    expect(bodies.reduce((sum, body) => sum + body.deduplicated, 0)).toBe(6);
    const ids = new Set(bodies.flatMap((body) => body.ids));
    expect(ids.size).toBe(2);

    for (const id of ids) {
      expect(await delivery(a, id, 'slack')).toMatchObject({ state: 'delivered', attempts: 1 });
      expect(await delivery(b, id, 'email')).toMatchObject({ state: 'delivered', attempts: 1 });
    }
    const keys = (values: unknown[]) => values.map(String).sort();
    const expected = ['c1', 'c2'].map((fingerprint) => `alertmanager:${fingerprint}:firing:2030-01-01T00:00:00Z`);
    expect(keys(slack.calls.map((call) => call.headers['x-idempotency-key']))).toEqual(expected);
    expect(keys(smtp.mails.map((mail) => mail.headers['x-idempotency-key']))).toEqual(expected);
  }, 60_000);

  it('hands the deliveries of a killed instance to another after their lease', async () => {
    const first = await start();
    // The receiver holds the first attempt: the instance making it is killed with the delivery claimed.
    slack.respond(() => undefined);
    const callsBefore = slack.calls.length;
    const sent = await post(first.http, '/notifications/send', { type: 'takeover', message: 'handed over', channel: 'slack' });
    expect(sent.status).toBe(202);
    const { id } = sent.body as { id: string };
    await eventually(() => (slack.calls.length > callsBefore ? true : undefined), 5000, 'the first attempt');
    await stop(first);
    slack.respond((_call, response) => response.writeHead(200).end('ok'));

    const second = await start();
    expect(await delivery(second, id, 'slack')).toMatchObject({ state: 'delivered', attempts: 2, last_error: null });
    const calls = slack.calls.slice(callsBefore);
    expect(calls).toHaveLength(2);
    expect(new Set(calls.map((call) => call.headers['x-idempotency-key'])).size).toBe(1);
  }, 60_000);
});
