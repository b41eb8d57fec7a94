// Shared by the benchmarks: start the built service on a free loopback port (benchServiceEnv plus what a bench
// asks), and a keep-alive POST loop. Every loop is bounded in time.
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort } from '../system/helpers.mjs';
import { benchServiceEnv } from './service-env.mjs';

export const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');

/**
 * The built service (npm run build) with the bench environment and `extra`; resolves once /health answers.
 * BENCH_NODE_FLAGS (e.g. `--trace-gc`) are given to the service's node, to try a runtime flag under a bench's load.
 */
export async function startBuiltService(extra = {}) {
  const port = await freePort();
  const flags = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...flags, join(ROOT, 'backend/dist/main.js')], {
    cwd: ROOT,
    stdio: 'ignore',
    env: benchServiceEnv(port, extra),
  });
  const exited = new Promise((done) => child.on('exit', done));
  for (let attempt = 0; ; attempt++) {
    const up = await fetch(`http://127.0.0.1:${port}/health`).then(
      (response) => response.ok,
      () => false,
    );
    if (up) break;
    if (attempt > 200) throw new Error('the service did not start within 20 s');
    await sleep(100);
  }
  return {
    port,
    pid: child.pid,
    http: `http://127.0.0.1:${port}`,
    ws: `ws://127.0.0.1:${port}`,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** One POST on a keep-alive agent; resolves with the status code, or the error code. */
export function post(agent, port, path, text, headers = {}) {
  return new Promise((done) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers },
      },
      (response) => {
        response.resume();
        response.on('end', () => done(response.statusCode));
      },
    );
    req.on('error', (error) => done(error.code ?? 'error'));
    req.end(text);
  });
}

/**
 * `connections` keep-alive connections posting one body after another for `seconds` (as fast as the service
 * answers). Returns accepted (202) and refused counts.
 */
export async function postFlatOut(port, { seconds, connections, body }) {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const text = JSON.stringify(body);
  let accepted = 0;
  let refused = 0;
  const end = performance.now() + seconds * 1000;
  const loop = async () => {
    while (performance.now() < end) {
      if ((await post(agent, port, '/events', text)) === 202) accepted++;
      else refused++;
    }
  };
  await Promise.all(Array.from({ length: connections }, loop));
  agent.destroy();
  return { accepted, refused };
}
