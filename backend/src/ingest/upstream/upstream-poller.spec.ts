import { UpstreamPoller, redactText, redactUrl, withCredentials } from './upstream-poller';

describe('UpstreamPoller', () => {
  it('backs off exponentially after failures, up to the ceiling, and resets on success', async () => {
    jest.useFakeTimers();
    try {
      let fail = true;
      const poller = new UpstreamPoller({
        name: 'x',
        endpoint: 'http://127.0.0.1:1',
        intervalMs: 100,
        timeoutMs: 50,
        maxBackoffMs: 1000,
        poll: () => (fail ? Promise.reject(new Error('boom')) : Promise.resolve()),
      });
      poller.start();
      const delays: number[] = [];
      for (let failure = 1; failure <= 6; failure++) {
        await jest.advanceTimersToNextTimerAsync();
        expect(poller.state.consecutive_failures).toBe(failure);
        delays.push(poller.snapshot().next_poll_in_ms ?? 0);
      }
      const expected = [200, 400, 800, 1000, 1000, 1000];
      delays.forEach((delay, index) => {
        expect(delay).toBeGreaterThanOrEqual((expected[index] as number) * 0.8 - 1);
        expect(delay).toBeLessThanOrEqual((expected[index] as number) * 1.2 + 1);
      });
      expect(poller.state).toMatchObject({ status: 'down', last_error: 'boom' });
      fail = false;
      await jest.advanceTimersToNextTimerAsync();
      expect(poller.state).toMatchObject({ status: 'up', consecutive_failures: 0 });
      expect(poller.snapshot().next_poll_in_ms).toBe(100);
      poller.stop();
    } finally {
      jest.useRealTimers();
    }
  });

  it('keeps credentials out of what it shows and sends them as a header', () => {
    expect(redactUrl('http://user:pw@127.0.0.1:9100/')).toBe('http://127.0.0.1:9100');
    expect(redactText('failed: http://user:pw@127.0.0.1:9100/analytics')).toBe('failed: http://127.0.0.1:9100/analytics');
    expect(withCredentials('http://user:p%40ss@127.0.0.1:9100/x')).toEqual({
      url: 'http://127.0.0.1:9100/x',
      headers: { authorization: `Basic ${Buffer.from('user:p@ss').toString('base64')}` },
    });
  });
});
