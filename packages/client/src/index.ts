/**
 * @data-streaming/client: subscriptions to data-streaming-api from browsers and Node, typed by
 * @data-streaming/protocol. See client.ts for what it does, and the README for a ten-line example.
 */
export { createClient, pathsOf } from './client.js';
export type { Client, ClientOptions, Credential, Gap, Status, SubscribeOptions, Subscription, TransportKind } from './client.js';
export { ClientError } from './errors.js';
export type { FetchLike, SocketFactory, SocketLike } from './transports.js';
export type { GapReason, WelcomeFrame, WireEvent } from '@data-streaming/protocol';
