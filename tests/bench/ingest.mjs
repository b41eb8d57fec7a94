#!/usr/bin/env node
// POST /events throughput with nothing subscribed: how many publish requests per second the service takes on one
// core, one event per request, 16 keep-alive connections for 4 s (bounded), loopback only. Rate limits are off here:
// one client on one address would otherwise measure the limiter. Usage: node tests/bench/ingest.mjs
import { postFlatOut, startBuiltService } from './service.mjs';

const SECONDS = 4;
const CONNECTIONS = 16;

const service = await startBuiltService();
try {
  const body = { channel: 'metrics_updates', type: 'bench', data: { sequence: 1, pad: 'x'.repeat(60) } };
  const { accepted, refused } = await postFlatOut(service.port, { seconds: SECONDS, connections: CONNECTIONS, body });
  process.stdout.write(
    `POST /events: ${Math.round(accepted / SECONDS)} accepted requests/s (${refused} refused), ${CONNECTIONS} keep-alive connections, ${SECONDS} s\n`,
  );
} finally {
  await service.stop();
}
