/**
 * The protocol as the end-to-end suites hold the service to it: every JSON body the service answers (through the
 * checked `fetch` installed by contract-setup.ts), every WebSocket frame (WsClient) and every SSE event (SseReader)
 * is parsed with its schema from @data-streaming/protocol, and one that does not match fails the test. A JSON answer
 * of a route the table below does not know fails too, so a new endpoint cannot go unchecked.
 */
import {
  EVENT_DATA_SCHEMAS,
  alertmanagerResponseSchema,
  dashboardDataSchema,
  dashboardListSchema,
  dashboardRefreshResponseSchema,
  dashboardsStatusSchema,
  deliveryChannelsReportSchema,
  errorBodySchema,
  healthSchema,
  historyPageSchema,
  notificationDetailSchema,
  notificationsStatusSchema,
  publishResponseSchema,
  recentEventsSchema,
  sendNotificationResponseSchema,
  serverFrameSchema,
  snapshotDataSchema,
  sseDataSchemas,
  streamsListSchema,
  streamsStatusSchema,
  tokenResponseSchema,
  verifyResponseSchema,
  websocketStatusSchema,
  type SseEventName,
} from '@data-streaming/protocol';
import type { z } from 'zod';

type Route = [method: string, path: RegExp, status: number, schema: z.ZodType];

const SEGMENT = '[^/]+';
const ROUTES: Route[] = [
  ['GET', /^\/health$/, 200, healthSchema],
  ['GET', /^\/health$/, 503, healthSchema],
  ['GET', /^\/streams$/, 200, streamsListSchema],
  ['GET', /^\/streams\/status$/, 200, streamsStatusSchema],
  ['GET', new RegExp(`^/streams/${SEGMENT}/recent$`), 200, recentEventsSchema],
  ['GET', new RegExp(`^/streams/${SEGMENT}/history$`), 200, historyPageSchema],
  ['GET', /^\/websocket\/status$/, 200, websocketStatusSchema],
  ['GET', /^\/dashboards$/, 200, dashboardListSchema],
  ['GET', /^\/dashboards\/status$/, 200, dashboardsStatusSchema],
  ['GET', new RegExp(`^/dashboards/${SEGMENT}/data$`), 200, dashboardDataSchema],
  ['POST', /^\/dashboards\/refresh$/, 200, dashboardRefreshResponseSchema],
  ['POST', /^\/events$/, 202, publishResponseSchema],
  ['POST', /^\/notifications\/send$/, 202, sendNotificationResponseSchema],
  ['POST', /^\/notifications\/alertmanager$/, 200, alertmanagerResponseSchema],
  ['GET', /^\/notifications\/status$/, 200, notificationsStatusSchema],
  ['GET', /^\/notifications\/channels$/, 200, deliveryChannelsReportSchema],
  ['GET', new RegExp(`^/notifications/${SEGMENT}$`), 200, notificationDetailSchema],
  ['POST', /^\/auth\/token$/, 201, tokenResponseSchema],
  ['GET', /^\/auth\/verify$/, 200, verifyResponseSchema],
];

/** Documents the service serves whole, checked by their own tests (OpenAPI, AsyncAPI). */
const DOCUMENTS = /^\/(openapi\.json|asyncapi\.json|docs(\/.*)?)$/;

export class ContractError extends Error {
  override name = 'ContractError';
}

function check(schema: z.ZodType, value: unknown, what: string): void {
  const result = schema.safeParse(value);
  if (result.success) return;
  const issues = result.error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
  throw new ContractError(`${what} does not match the protocol: ${issues}\n${JSON.stringify(value).slice(0, 600)}`);
}

/** Checks a JSON body the service answered to `method path` with `status`. */
export function checkBody(method: string, path: string, status: number, body: unknown): void {
  if (DOCUMENTS.test(path)) return;
  if (status >= 400) {
    check(errorBodySchema, body, `${method} ${path} → ${status}`);
    return;
  }
  const route = ROUTES.find(([m, pattern, s]) => m === method && s === status && pattern.test(path));
  if (!route) throw new ContractError(`${method} ${path} → ${status} answered JSON, but the contract has no schema for it`);
  check(route[3], body, `${method} ${path} → ${status}`);
}

/** Checks one WebSocket frame, and the data of events and snapshots whose type says what it holds. */
export function checkFrame(frame: unknown): void {
  check(serverFrameSchema, frame, 'a WebSocket frame');
  const parsed = serverFrameSchema.parse(frame);
  if (parsed.kind === 'event') checkEventData(parsed);
  if (parsed.kind === 'batch') parsed.events.forEach(checkEventData);
  if (parsed.kind === 'snapshot') check(snapshotDataSchema(parsed.channel), parsed.data, `the snapshot of ${parsed.channel}`);
}

/** Checks the data of one SSE event by its name (message, welcome, snapshot, error). */
export function checkSseEvent(name: string, data: unknown): void {
  const schema = sseDataSchemas[name as SseEventName] as z.ZodType | undefined;
  if (!schema) throw new ContractError(`an SSE event named "${name}", which the protocol does not have`);
  check(schema, data, `an SSE ${name} event`);
  if (name === 'message') checkEventData(data as { type: string; data: unknown });
  if (name === 'snapshot') {
    const { channel, data: state } = data as { channel: string; data: unknown };
    check(snapshotDataSchema(channel), state, `the snapshot of ${channel}`);
  }
}

function checkEventData(event: { type: string; data: unknown }): void {
  const schema = EVENT_DATA_SCHEMAS[event.type];
  if (schema) check(schema, event.data, `the data of a ${event.type} event`);
}

/** Ports of the services the suites started: only their answers are checked, not those of the stand-ins. */
export const checkedPorts = new Set<number>();

/** Frames and SSE events that broke the protocol during the current test: contract-setup.ts fails the test on them. */
export const violations: string[] = [];

/** Runs a check on something received in an event handler, recording a violation instead of throwing there. */
export function record(checkIt: () => void): void {
  try {
    checkIt();
  } catch (error) {
    if (!(error instanceof ContractError)) throw error;
    violations.push(error.message);
  }
}
