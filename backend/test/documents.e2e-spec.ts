/**
 * The descriptions generated from the protocol: /asyncapi.json checked by the AsyncAPI initiative's own parser, and
 * /openapi.json's request and response bodies pointing at the protocol's schemas, every reference resolving.
 */
import { DiagnosticSeverity, Parser } from '@asyncapi/parser';
import { CLOSE_CODES, REQUEST_SCHEMAS, RESPONSE_SCHEMAS } from '@data-streaming/protocol';
import { getJson, startApp, type RunningApp } from './support/app';

/** Every `$ref` in `document` that does not point at something in it. */
function unresolved(document: unknown): string[] {
  const refs = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if (key === '$ref' && typeof value === 'string') refs.add(value);
        else walk(value);
      }
    }
  };
  walk(document);
  return [...refs].filter((ref) => {
    if (!ref.startsWith('#/')) return true;
    let node: unknown = document;
    for (const part of ref.slice(2).split('/')) node = (node as Record<string, unknown> | undefined)?.[decodeURIComponent(part)];
    return node === undefined;
  });
}

describe('descriptions generated from the protocol', () => {
  let service: RunningApp;

  beforeAll(async () => {
    service = await startApp();
  });

  afterAll(async () => {
    await service.close();
  });

  it('serves an AsyncAPI 3.0 document that the AsyncAPI parser takes without an error', async () => {
    const { status, body } = await getJson(service.http, '/asyncapi.json');
    expect(status).toBe(200);
    const { document, diagnostics } = await new Parser().parse(JSON.stringify(body));
    const errors = diagnostics.filter((diagnostic) => DiagnosticSeverity[diagnostic.severity] === 'Error');
    expect(errors.map((error) => `${error.path.join('.')}: ${error.message}`)).toEqual([]);
    expect(document?.version()).toBe('3.0.0');
    expect(unresolved(body)).toEqual([]);
    // Every channel of this configuration, the messages on them, and every close code.
    const channels = body.channels as Record<string, { parameters: Record<string, { enum: string[] }>; messages: object }>;
    expect(channels.websocketChannel?.parameters.channel?.enum).toEqual(service.config.websocket.channels);
    expect(Object.keys(channels.websocketChannel?.messages ?? {})).toEqual([
      'welcome',
      'event',
      'batch',
      'snapshot',
      'error',
      'pong',
      'ping',
    ]);
    expect(channels.sseStream?.parameters.stream?.enum).toEqual(expect.arrayContaining(service.config.sse.streams));
    for (const code of Object.keys(CLOSE_CODES)) expect(body.info.description).toContain(`- ${code} `);
    expect(Object.keys(body.components.schemas)).toEqual(expect.arrayContaining(['WireEvent', 'WelcomeFrame', 'BatchFrame', 'JsonValue']));
  });

  it("gives /openapi.json the protocol's request and response bodies", async () => {
    const { body } = await getJson(service.http, '/openapi.json');
    expect(Object.keys(body.components.schemas)).toEqual(
      expect.arrayContaining([...Object.keys(REQUEST_SCHEMAS), ...Object.keys(RESPONSE_SCHEMAS)]),
    );
    const operation = (path: string, method: string) => body.paths[path][method];
    const requestRef = (path: string) => operation(path, 'post').requestBody.content['application/json'].schema;
    const responseRef = (path: string, method: string, status: number) =>
      operation(path, method).responses[String(status)].content['application/json'].schema.$ref;
    expect(requestRef('/notifications/send')).toEqual({ $ref: '#/components/schemas/SendNotification' });
    expect(requestRef('/notifications/alertmanager')).toEqual({ $ref: '#/components/schemas/AlertmanagerWebhook' });
    expect(requestRef('/auth/token')).toEqual({ $ref: '#/components/schemas/TokenRequest' });
    expect(JSON.stringify(requestRef('/events'))).toContain('#/components/schemas/PublishEvent');
    expect(responseRef('/events', 'post', 202)).toBe('#/components/schemas/PublishResponse');
    expect(responseRef('/events', 'post', 400)).toBe('#/components/schemas/ErrorBody');
    expect(responseRef('/health', 'get', 200)).toBe('#/components/schemas/Health');
    expect(responseRef('/streams/status', 'get', 200)).toBe('#/components/schemas/StreamsStatus');
    expect(responseRef('/notifications/status', 'get', 200)).toBe('#/components/schemas/NotificationsStatus');
    expect(responseRef('/dashboards/status', 'get', 200)).toBe('#/components/schemas/DashboardsStatus');
    // The send body as Swagger UI fills it in: the fields SPEC names, channel an enum.
    const send = body.components.schemas.SendNotification;
    expect(send.required).toEqual(['type', 'message', 'channel']);
    expect(send.properties.channel.enum).toEqual(['websocket', 'sse', 'email', 'slack', 'all']);
    expect(unresolved(body)).toEqual([]);
  });
});
