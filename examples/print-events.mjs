// Prints live events of a channel, from a minute back: `node examples/print-events.mjs [channel]` (after npm ci).
import WebSocket from 'ws';
import { createClient } from '@data-streaming/client';

const client = createClient({
  url: process.env.DATA_STREAMING_URL ?? 'http://127.0.0.1:9102',
  createSocket: (url, protocols) => new WebSocket(url, protocols),
});
client.subscribe(process.argv[2] ?? 'metrics_updates', {
  from: Date.now() - 60_000,
  onEvent: (event) => console.log(event.id, event.timestamp, event.type, JSON.stringify(event.data)),
  onGap: (gap) => console.warn(`gap (${gap.reason}): some events may be missing`),
  onError: (error) => (console.error(`${error.code}: ${error.message}`), client.close()),
});
