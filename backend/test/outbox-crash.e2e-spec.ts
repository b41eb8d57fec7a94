/**
 * A crash loses nothing: the service is killed with SIGKILL in the middle of a burst of deliveries, started again on
 * the same data directory, and every accepted notification is delivered on every channel, with duplicates bounded.
 */
import { eventually, getJson, post, tempDataDir } from './support/app';
import { startService } from './support/process';
import { startSmtp, startWebhook } from './support/receivers';

describe('the outbox across a crash', () => {
  it('delivers every accepted notification after kill -9 and a restart', async () => {
    const smtp = await startSmtp();
    const slack = await startWebhook();
    // A slow receiver, so that the kill lands while deliveries are under way.
    slack.respond((_call, response) => setTimeout(() => response.writeHead(200).end('ok'), 15));
    const concurrency = 4;
    const env = {
      DATA_STREAMING_DATA_DIR: tempDataDir(),
      NOTIFICATIONS_SMTP_URL: smtp.url,
      NOTIFICATIONS_EMAIL_FROM: 'alerts@example.com',
      NOTIFICATIONS_EMAIL_TO: 'oncall@example.com',
      NOTIFICATIONS_SLACK_WEBHOOK_URL: slack.url,
      REAL_TIME_NOTIFICATIONS_DELIVERY_CONCURRENCY: String(concurrency),
      REAL_TIME_NOTIFICATIONS_RETRY_BASE_DELAY: '0.05',
    };
    const total = 150;
    const accepted = new Set<string>();
    let first = await startService(env);
    try {
      for (let index = 0; index < total; index++) {
        const response = await post(first.http, '/notifications/send', {
          type: 'burst',
          message: `burst ${index}`,
          channel: 'all',
          priority: 'critical',
          idempotency_key: `burst-${index}`,
        });
        expect(response.status).toBe(202);
        accepted.add(`burst-${index}`);
      }
      await eventually(() => (slack.calls.length >= 20 ? true : undefined), 10_000, 'deliveries under way');
      first.child.kill('SIGKILL');
      expect((await first.exited).signal).toBe('SIGKILL');
      const deliveredBeforeCrash = slack.calls.length;
      expect(deliveredBeforeCrash).toBeLessThan(total);

      first = await startService(env);
      const status = await eventually(
        async () => {
          const body = (await getJson(first.http, '/notifications/status')).body;
          return body.pending === 0 ? body : undefined;
        },
        60_000,
        'the outbox to drain',
      );
      expect(status).toMatchObject({ delivered: total * 4, failed: 0 });

      const keys = (calls: string[]) => ({ unique: new Set(calls), duplicates: calls.length - new Set(calls).size });
      const slackKeys = keys(slack.calls.map((call) => String(call.headers['x-idempotency-key'])));
      const mailKeys = keys(smtp.mails.map((mail) => mail.headers['x-idempotency-key'] ?? ''));
      expect(slackKeys.unique).toEqual(accepted);
      expect(mailKeys.unique).toEqual(accepted);
      // Only attempts in flight at the kill can be repeated: at most `concurrency` per process.
      expect(slackKeys.duplicates + mailKeys.duplicates).toBeLessThanOrEqual(concurrency);
    } finally {
      first.child.kill('SIGKILL');
      await first.exited;
      await Promise.all([smtp.close(), slack.close()]);
    }
  }, 90_000);
});
