/** The service as a process: fail-fast configuration, production safety, graceful shutdown, no secrets in logs. */
import { symlinkSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { eventually, getJson, tempDataDir } from './support/app';
import { runService, startService } from './support/process';
import { SseReader } from './support/sse-reader';
import { WsClient } from './support/ws-client';

describe('the service process', () => {
  it('stops at start with one message naming a bad key, its value and what is expected', async () => {
    const service = runService({ WEBSOCKET_MAX_CONNECTIONS: 'abc', DATA_STREAMING_API_PORT: '0' });
    const { code } = await service.exited;
    expect(code).toBe(78);
    expect(service.output()).toBe(
      'data-streaming-api: Invalid configuration:\n  - websocket.max_connections = "abc" (from WEBSOCKET_MAX_CONNECTIONS): expected a number\n',
    );
  });

  it('stops at start naming the path of a data directory or database it cannot use', async () => {
    const file = join(tempDataDir(), 'not-a-directory');
    writeFileSync(file, 'x');
    const blocked = runService({ DATA_STREAMING_API_PORT: '0', DATA_STREAMING_DATA_DIR: join(file, 'data') });
    expect((await blocked.exited).code).toBe(74);
    expect(blocked.output()).toContain(`data-streaming-api: the data directory ${join(file, 'data')} cannot be written: ENOTDIR`);

    // A link to a disk that is not mounted: an error at once, not a start that spins forever.
    const dangling = join(tempDataDir(), 'data');
    symlinkSync('/mnt/not-mounted-here/data', dangling);
    const unmounted = runService({ DATA_STREAMING_API_PORT: '0', DATA_STREAMING_DATA_DIR: join(dangling, 'dsa') });
    expect((await unmounted.exited).code).toBe(74);
    expect(unmounted.output()).toContain(`data-streaming-api: the data directory ${join(dangling, 'dsa')} cannot be written`);

    const dataDir = tempDataDir();
    writeFileSync(join(dataDir, 'history.sqlite'), 'this is not a database, it is a file someone overwrote'.repeat(100));
    const corrupt = runService({ DATA_STREAMING_API_PORT: '0', DATA_STREAMING_DATA_DIR: dataDir });
    expect((await corrupt.exited).code).toBe(74);
    expect(corrupt.output()).toContain(
      `data-streaming-api: cannot open the channel history database at ${join(dataDir, 'history.sqlite')}`,
    );
    expect(corrupt.output()).not.toMatch(/\n\s+at /);
  });

  it('stops with one line naming the port and its key when the port is in use, before anything says it started', async () => {
    const holder: Server = createServer();
    await new Promise<void>((done) => holder.listen(0, '127.0.0.1', done));
    const port = (holder.address() as { port: number }).port;
    try {
      const service = runService({ DATA_STREAMING_API_PORT: String(port) });
      expect((await service.exited).code).toBe(69);
      expect(service.output()).toBe(
        `data-streaming-api: port ${port} on 127.0.0.1 (service.port, DATA_STREAMING_API_PORT; service.host, DATA_STREAMING_API_HOST) is already in use: stop what holds it or choose another port\n`,
      );
    } finally {
      holder.close();
    }
  });

  it('refuses to start in production without API keys', async () => {
    const service = runService({ NODE_ENV: 'production', DATA_STREAMING_API_PORT: '0' });
    expect((await service.exited).code).toBe(78);
    expect(service.output()).toContain('refusing to start in production without API keys (DATA_STREAMING_API_KEYS)');
  });

  it('closes WebSockets with 1001, ends SSE streams and exits 0 within the shutdown timeout on SIGTERM', async () => {
    const service = await startService();
    const ws = await WsClient.subscribe(`${service.ws}/ws/metrics_updates`);
    const sse = await SseReader.open(`${service.http}/sse/real_time_metrics`);
    await sse.waitFor((item) => item.event === 'welcome');

    const start = performance.now();
    service.child.kill('SIGTERM');
    const { code } = await service.exited;
    const seconds = (performance.now() - start) / 1000;

    expect(code).toBe(0);
    expect(seconds).toBeLessThan(5);
    expect(await ws.waitForClose()).toBe(1001);
    await sse.waitForEnd();
    expect(sse.events.at(-1)).toMatchObject({ event: 'error', json: { reason: 'going_away' } });
  });

  it('never writes API keys or upstream credentials to its logs', async () => {
    const upstream: Server = createServer((_request, response) => response.writeHead(500).end());
    await new Promise<void>((done) => upstream.listen(0, '127.0.0.1', done));
    const { port } = upstream.address() as { port: number };
    const service = await startService({
      DATA_STREAMING_API_KEYS: 'topsecretkey-0123456789',
      REAL_TIME_EVENT_PROCESSING_ENDPOINT: `http://svcuser:hunter2pass@127.0.0.1:${port}`,
      MONITORING_POLL_INTERVAL: '0.2',
      DATA_STREAMING_LOG_LEVEL: 'DEBUG',
    });
    try {
      const health = await eventually(async () => {
        const response = await getJson(service.http, '/health');
        return response.body.status === 'degraded' ? response : undefined;
      });
      expect(JSON.stringify(health.body)).not.toContain('hunter2pass');
      expect(service.output()).toContain(`127.0.0.1:${port}`);
      expect(service.output()).not.toContain('hunter2pass');
      expect(service.output()).not.toContain('topsecretkey');
    } finally {
      service.child.kill('SIGTERM');
      await service.exited;
      upstream.close();
    }
  });
});
