/**
 * The contract checks can fail: an answer, a frame or an SSE event that breaks the protocol is caught. A stand-in
 * server answers on a port registered as the service's, so what the checked fetch sees here is wrong on purpose.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ContractError, checkFrame, checkSseEvent, checkedPorts, record, violations } from './support/contract';

describe('the protocol contract of the end-to-end suites', () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    server = createServer((request, response) => {
      const bodies: Record<string, [number, unknown]> = {
        '/health': [200, { status: 'fine', service: 'data-streaming-api' }],
        '/streams': [200, { streams: ['metrics_updates'] }],
        '/nowhere': [404, { message: 'no error code' }],
        '/unknown/route': [200, { anything: true }],
      };
      const [status, body] = bodies[request.url ?? ''] ?? [500, {}];
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    checkedPorts.add(port);
    base = `http://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('passes an answer that matches its schema', async () => {
    expect((await fetch(`${base}/streams`)).status).toBe(200);
  });

  it('fails a body that breaks its schema, an error without its code, and JSON of a route it does not know', async () => {
    await expect(fetch(`${base}/health`)).rejects.toThrow(ContractError);
    await expect(fetch(`${base}/nowhere`)).rejects.toThrow(/does not match the protocol/);
    await expect(fetch(`${base}/unknown/route`)).rejects.toThrow(/no schema/);
  });

  it('records frames and SSE events that break the protocol, for the test to fail on', () => {
    record(() => checkFrame({ kind: 'event', id: 'e:1', channel: 'metrics_updates', type: 't', timestamp: '2026-12-02T10:00:00Z' }));
    record(() => checkFrame({ kind: 'welcome', channel: 'metrics_updates' }));
    record(() => checkSseEvent('message', { kind: 'event' }));
    record(() => checkSseEvent('surprise', {}));
    record(() =>
      checkFrame({
        kind: 'event',
        id: 'e:2',
        channel: 'dashboard.system_health',
        type: 'dashboard.update',
        timestamp: '2026-12-02T10:00:00Z',
        data: { panels: 'none' },
      }),
    );
    expect(violations).toHaveLength(5);
    expect(violations.join('\n')).toMatch(/data: required/);
    // Emptied here so that this test, which broke the protocol on purpose, passes.
    violations.length = 0;
  });
});
