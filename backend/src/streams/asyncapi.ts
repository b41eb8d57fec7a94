/**
 * The AsyncAPI 3.0 document of the streaming API (`GET /asyncapi.json`): the WebSocket channels and SSE streams of
 * this configuration, the messages on each (their payloads are the protocol's schemas, generated from zod), how to
 * resume (`since`, `from`, Last-Event-ID) and authenticate, and every close code. The HTTP endpoints are OpenAPI's.
 */
import {
  CLOSE_CODES,
  FRAME_ERROR_UNSUPPORTED_MESSAGE,
  GAP_REASONS,
  SUBPROTOCOL,
  TOKEN_SUBPROTOCOL_PREFIX,
  componentSchemas,
  type SchemaName,
} from '@data-streaming/protocol';
import type { AppConfig } from '../config/config.schema';

type Json = Record<string, unknown>;

const schema = (name: SchemaName): Json => ({ $ref: `#/components/schemas/${name}` });
const message = (name: string): Json => ({ $ref: `#/components/messages/${name}` });
const channelRef = (name: string): Json => ({ $ref: `#/channels/${name}` });
const channelMessage = (channel: string, name: string): Json => ({ $ref: `#/channels/${channel}/messages/${name}` });

const CLOSE_TABLE = Object.entries(CLOSE_CODES)
  .map(([code, { name, meaning, action }]) => `- ${code} ${name}: ${meaning}. ${action === 'none' ? '' : `Client: ${action}.`}`)
  .join('\n');

const GAP_TABLE = Object.entries(GAP_REASONS)
  .map(([reason, meaning]) => `- ${reason}: ${meaning}`)
  .join('\n');

/** Where a subscription starts: the query of every WebSocket upgrade and SSE request. */
const RESUME_QUERY: Json = {
  type: 'object',
  properties: {
    since: {
      type: 'string',
      pattern: '^[0-9a-z]{1,32}:(0|[1-9][0-9]{0,15})$',
      description:
        'Resume after this event id (epoch:offset): the events after it are replayed, then live ones follow. On SSE, Last-Event-ID does the same.',
    },
    from: {
      type: 'string',
      description:
        'Start from a point in time (RFC 3339 with a zone, or milliseconds since 1970): history accepted at or after it is replayed, then live events follow; the welcome says from_reached. Not with since.',
    },
    token: {
      type: 'string',
      description: 'A credential where a header cannot be sent (prefer the Authorization header or the bearer.<token> subprotocol).',
    },
  },
  additionalProperties: false,
};

const MESSAGES: Record<string, Json> = {
  Welcome: {
    name: 'welcome',
    title: 'Welcome',
    summary: `The first message of every subscription: where the channel stands, and whether a resume was whole (recovered false: ${Object.keys(GAP_REASONS).join(', ')}).`,
    contentType: 'application/json',
    payload: schema('WelcomeFrame'),
  },
  Event: {
    name: 'event',
    title: 'Event',
    summary:
      'One event, in the envelope every transport carries; `conflated: N` when it stands for N of a lagging subscriber (dashboards, high-frequency streams).',
    contentType: 'application/json',
    payload: schema('WireEvent'),
  },
  Batch: {
    name: 'batch',
    title: 'Batch',
    summary: 'Events that piled up while the socket was busy, in offset order (WebSocket only).',
    contentType: 'application/json',
    payload: schema('BatchFrame'),
  },
  Snapshot: {
    name: 'snapshot',
    title: 'Snapshot',
    summary:
      'The whole state of a live channel for a subscriber that starts fresh: a dashboard (DashboardData) or a high-frequency stream (HighFrequencyValues).',
    contentType: 'application/json',
    payload: schema('SnapshotFrame'),
  },
  Error: {
    name: 'error',
    title: 'Error',
    summary: `WebSocket: a client message the service does not take (code ${FRAME_ERROR_UNSUPPORTED_MESSAGE}, the socket stays open). SSE: why the stream ends, with the close code.`,
    contentType: 'application/json',
    payload: schema('ErrorFrame'),
  },
  Pong: {
    name: 'pong',
    title: 'Pong',
    summary: 'The answer to a ping message.',
    contentType: 'application/json',
    payload: schema('PongFrame'),
  },
  Ping: {
    name: 'ping',
    title: 'Ping',
    summary: 'The only message a client may send, for clients that cannot see protocol pings.',
    contentType: 'application/json',
    payload: schema('ClientMessage'),
  },
};

export function asyncApiDocument(config: AppConfig, version: string): Json {
  const dashboards = config.live_dashboard.dashboards;
  const sseNames = [...config.sse.streams, ...config.websocket.channels, config.real_time_notifications.sse_stream];
  const live = (...names: string[]): Json =>
    Object.fromEntries(names.map((name) => [name.charAt(0).toLowerCase() + name.slice(1), message(name)]));
  const websocketMessages = live('Welcome', 'Event', 'Batch', 'Snapshot', 'Error', 'Pong', 'Ping');
  const sseMessages = live('Welcome', 'Event', 'Snapshot', 'Error');
  const wsBindings = { ws: { method: 'GET', query: RESUME_QUERY, bindingVersion: '0.1.0' } };
  // HTTP bindings belong to operations (an HTTP channel binding has no fields).
  const sseBindings = { http: { method: 'GET', query: RESUME_QUERY, bindingVersion: '0.3.0' } };

  const channels: Record<string, Json> = {
    websocketChannel: {
      address: '/ws/{channel}',
      title: 'A WebSocket channel',
      description: `Every event of the channel as a text frame of JSON, after a welcome. Subprotocol ${SUBPROTOCOL}; a browser may send its token as a second subprotocol ${TOKEN_SUBPROTOCOL_PREFIX}<token>.`,
      servers: [{ $ref: '#/servers/websocket' }],
      parameters: { channel: { enum: config.websocket.channels, description: 'websocket.channels' } },
      messages: websocketMessages,
      bindings: wsBindings,
    },
    dashboardChannel: {
      address: '/ws/dashboards/{dashboard}',
      title: 'A live dashboard over WebSocket',
      description: 'A snapshot of every panel (DashboardData), then a dashboard.update event (DashboardUpdate) whenever panels change.',
      servers: [{ $ref: '#/servers/websocket' }],
      parameters: { dashboard: { enum: dashboards, description: 'live_dashboard.dashboards' } },
      messages: websocketMessages,
      bindings: wsBindings,
    },
    sseStream: {
      address: '/sse/{stream}',
      title: 'An SSE stream',
      description:
        'text/event-stream (gzip when asked): events carry the envelope with `id:` its id (default event type); welcome, snapshot and error are named events. A reconnect with Last-Event-ID resumes.',
      servers: [{ $ref: '#/servers/sse' }],
      parameters: {
        stream: { enum: [...new Set(sseNames)], description: 'sse.streams, the WebSocket channels, and the notification stream' },
      },
      messages: sseMessages,
    },
    highFrequencyStream: {
      address: '/streams/high_frequency/{name}',
      title: 'A high-frequency stream (SSE)',
      description:
        'A snapshot of every key (HighFrequencyValues), then one high_frequency.update event per update_rate with the keys that changed.',
      servers: [{ $ref: '#/servers/sse' }],
      parameters: { name: { enum: config.high_frequency_streams.streams, description: 'high_frequency_streams.streams' } },
      messages: sseMessages,
    },
    dashboardStream: {
      address: '/dashboards/{dashboard}/stream',
      title: 'A live dashboard over SSE',
      description: 'The dashboard channel as SSE: a snapshot, then each dashboard.update event.',
      servers: [{ $ref: '#/servers/sse' }],
      parameters: { dashboard: { enum: dashboards, description: 'live_dashboard.dashboards' } },
      messages: sseMessages,
    },
  };

  const receive = (channel: string, names: string[], summary: string, bindings?: Json): Json => ({
    action: 'receive',
    channel: channelRef(channel),
    summary,
    messages: names.map((name) => channelMessage(channel, name)),
    ...(bindings ? { bindings } : {}),
  });
  const receivedOnWebsocket = ['welcome', 'event', 'batch', 'snapshot', 'error', 'pong'];
  const receivedOnSse = ['welcome', 'event', 'snapshot', 'error'];

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'data-streaming-api',
      version,
      description: [
        'Live events and metrics of the LLM platform over WebSocket and Server-Sent Events. The HTTP endpoints are in /openapi.json; the prose is docs/PROTOCOL.md.',
        '',
        'Resume: connect with ?since=<the last id you processed> (SSE: Last-Event-ID), or ?from=<a time>. The welcome says recovered: false with a reason when history did not reach back:',
        GAP_TABLE,
        '',
        'Close codes (WebSocket; the code of an SSE error event):',
        CLOSE_TABLE,
      ].join('\n'),
    },
    defaultContentType: 'application/json',
    servers: {
      websocket: {
        host: `127.0.0.1:${config.service.port}`,
        protocol: 'ws',
        description: 'The service (wss behind a TLS proxy).',
        security: [{ $ref: '#/components/securitySchemes/bearer' }],
      },
      sse: {
        host: `127.0.0.1:${config.service.port}`,
        protocol: 'http',
        description: 'The service, for Server-Sent Events.',
        security: [{ $ref: '#/components/securitySchemes/bearer' }],
      },
    },
    channels,
    operations: {
      receiveChannelEvents: receive('websocketChannel', receivedOnWebsocket, "A channel's events over WebSocket"),
      sendPing: {
        action: 'send',
        channel: channelRef('websocketChannel'),
        summary: 'An application-level ping, answered with pong',
        messages: [channelMessage('websocketChannel', 'ping')],
      },
      receiveDashboardUpdates: receive('dashboardChannel', receivedOnWebsocket, "A dashboard's snapshot and updates over WebSocket"),
      receiveStreamEvents: receive('sseStream', receivedOnSse, "A stream's events over SSE", sseBindings),
      receiveHighFrequencyTicks: receive('highFrequencyStream', receivedOnSse, "A high-frequency stream's snapshot and ticks", sseBindings),
      receiveDashboardStream: receive('dashboardStream', receivedOnSse, "A dashboard's snapshot and updates over SSE", sseBindings),
    },
    components: {
      schemas: componentSchemas('draft-7', '#/components/schemas/'),
      messages: MESSAGES,
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description:
            'With auth.api_keys set: an API key with the read scope, or a subscriber token from POST /auth/token (Authorization: Bearer, ?token=, or the bearer.<token> subprotocol). Channels in auth.public_channels need none.',
        },
      },
    },
  };
}
