/**
 * The wire protocol of data-streaming-api, defined once: every payload that crosses a wire as a zod schema with its
 * TypeScript type, the close and error codes, and positions. The service builds and checks with it, its tests check
 * every frame and body they receive against it, the OpenAPI and AsyncAPI documents are generated from it, and the
 * client library and the Grafana plugin are typed by it. docs/PROTOCOL.md explains it in prose.
 */
export * from './auth.js';
export * from './codes.js';
export * from './dashboards.js';
export * from './errors.js';
export * from './events.js';
export * from './frames.js';
export * from './notifications.js';
export * from './position.js';
export * from './status.js';
export * from './vocabulary.js';
export * from './payloads.js';
export * from './documents.js';
