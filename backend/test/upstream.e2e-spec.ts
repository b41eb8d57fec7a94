/** Upstream pollers against small upstreams started on loopback: data flows in, failures show in /health. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { eventually, getJson, startApp, type RunningApp } from './support/app';
import { WsClient } from './support/ws-client';

async function serve(handler: (request: IncomingMessage, response: ServerResponse) => void): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
}

const stop = (server: Server): Promise<void> =>
  new Promise((done) => {
    server.closeAllConnections();
    server.close(() => done());
  });

describe('upstream sources', () => {
  const analyticsBody = { active_sessions: 412, events_per_second: 1834.5, top_models: ['llama-3.1-70b-instruct'] };
  let analytics: { server: Server; url: string };
  let prometheus: { server: Server; url: string };
  let hanging: { server: Server; url: string };
  const prometheusQueries: string[] = [];
  let service: RunningApp;

  beforeAll(async () => {
    analytics = await serve((request, response) => {
      if (request.url !== '/analytics') return void response.writeHead(404).end();
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(analyticsBody));
    });
    prometheus = await serve((request, response) => {
      const url = new URL(request.url ?? '/', 'http://localhost');
      prometheusQueries.push(url.searchParams.get('query') ?? '');
      response.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          status: 'success',
          data: { resultType: 'vector', result: [{ metric: { model: 'm1' }, value: [1_700_000_000, '0.042'] }] },
        }),
      );
    });
    hanging = await serve(() => undefined);
    service = await startApp({
      monitoring: {
        real_time_event_processing_endpoint: analytics.url,
        metrics_server_endpoint: prometheus.url,
        api_gateway_endpoint: hanging.url,
        poll_interval: 0.2,
        poll_timeout: 0.3,
        max_backoff: 1,
        prometheus_queries: [{ name: 'error_rate', query: 'sum(rate(errors[1m]))', channel: 'metrics_updates' }],
      },
    });
  });
  afterAll(async () => {
    await service.close();
    await Promise.all([analytics, prometheus, hanging].map(({ server }) => stop(server)));
  });

  it('publishes the analytics body and the Prometheus query results on their channel', async () => {
    const ws = await WsClient.subscribe(`${service.ws}/ws/metrics_updates`);
    const fromAnalytics = await eventually(() => ws.events.find((item) => item.type === 'upstream.analytics'));
    expect(fromAnalytics.data).toEqual(analyticsBody);
    const fromPrometheus = await eventually(() => ws.events.find((item) => item.type === 'prometheus.query'));
    expect(fromPrometheus).toMatchObject({
      key: 'error_rate',
      data: { name: 'error_rate', value: 0.042, series: [{ labels: { model: 'm1' }, value: 0.042 }] },
    });
    expect(prometheusQueries).toContain('sum(rate(errors[1m]))');
    ws.close();
  });

  it('reports a hanging upstream as degraded with its timeout, and backs off', async () => {
    const health = await eventually(async () => {
      const response = await getJson(service.http, '/health');
      return response.body.checks.upstream_api_gateway?.consecutive_failures >= 2 ? response : undefined;
    });
    expect(health.status).toBe(200);
    expect(health.body.status).toBe('degraded');
    expect(health.body.reasons).toContain('upstream_api_gateway is degraded: timed out after 300 ms');
    expect(health.body.checks.upstream_real_time_event_processing.state).toBe('up');
  });

  it('turns degraded when an upstream goes away, and healthy again when it returns', async () => {
    const port = new URL(analytics.url).port;
    await stop(analytics.server);
    const down = await eventually(async () => {
      const response = await getJson(service.http, '/health');
      return response.body.checks.upstream_real_time_event_processing.state === 'down' ? response : undefined;
    });
    expect(down.body.reasons.join('\n')).toMatch(/upstream_real_time_event_processing is degraded: .*fetch failed|ECONNREFUSED/);

    analytics.server = createServer((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
    await new Promise<void>((done) => analytics.server.listen(Number(port), '127.0.0.1', done));
    await eventually(
      async () =>
        (await getJson(service.http, '/health')).body.checks.upstream_real_time_event_processing.state === 'up' ? true : undefined,
      5000,
    );
  });
});
