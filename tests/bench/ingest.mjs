#!/usr/bin/env node
// POST /events throughput with nothing subscribed: how many publish requests per second the service takes on one
// core, one event per request, 16 keep-alive connections for 4 s (bounded), loopback only. Rate limits are off here:
// one client on one address would otherwise measure the limiter. Usage: node tests/bench/ingest.mjs
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { benchServiceEnv } from './service-env.mjs';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
const SECONDS = 4;
const CONNECTIONS = 16;

const server = createServer();
await new Promise((done) => server.listen(0, '127.0.0.1', done));
const { port } = server.address();
await new Promise((done) => server.close(done));

const child = spawn(process.execPath, [join(ROOT, 'backend/dist/main.js')], {
  cwd: ROOT,
  stdio: 'ignore',
  env: benchServiceEnv(port),
});
try {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (
      await fetch(`http://127.0.0.1:${port}/health`).then(
        (response) => response.ok,
        () => false,
      )
    )
      break;
    await sleep(100);
  }
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const body = JSON.stringify({ channel: 'metrics_updates', type: 'bench', data: { sequence: 1, pad: 'x'.repeat(60) } });
  let accepted = 0;
  let refused = 0;
  const end = performance.now() + SECONDS * 1000;
  const loop = async () => {
    while (performance.now() < end) {
      await new Promise((done) => {
        const req = request(
          {
            host: '127.0.0.1',
            port,
            path: '/events',
            method: 'POST',
            agent,
            headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
          },
          (response) => {
            if (response.statusCode === 202) accepted++;
            else refused++;
            response.resume();
            response.on('end', done);
          },
        );
        req.on('error', () => {
          refused++;
          done();
        });
        req.end(body);
      });
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, loop));
  agent.destroy();
  process.stdout.write(
    `POST /events: ${Math.round(accepted / SECONDS)} accepted requests/s (${refused} refused), ${CONNECTIONS} keep-alive connections, ${SECONDS} s\n`,
  );
} finally {
  child.kill('SIGTERM');
}
