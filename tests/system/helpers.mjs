// Shared by the system tests: start the built service and real daemons on loopback ports, and wait for things.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

export async function eventually(check, timeoutMs = 10_000, what = 'condition') {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

export async function freePort() {
  const server = createServer();
  await new Promise((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address();
  await new Promise((done) => server.close(done));
  return port;
}

/** A binary the system tests need: its absence is a failure, never a skip. */
export function requireBinary(path, debianPackage) {
  if (!existsSync(path)) throw new Error(`${path} is missing: install the Debian package ${debianPackage} (.ci/run does)`);
  return path;
}

export function run(command, args, options = {}) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise((done) => child.on('exit', (code, signal) => done({ code, signal })));
  return { child, exited, output: () => output };
}

/** The built service (npm run build) on a free loopback port, demo off, fresh data directory. */
export async function startService(env = {}) {
  const port = await freePort();
  const service = run(process.execPath, [join(ROOT, 'backend/dist/main.js')], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      NO_COLOR: '1',
      DATA_STREAMING_API_HOST: '127.0.0.1',
      DATA_STREAMING_API_PORT: String(port),
      DATA_STREAMING_DEMO_ENABLED: 'false',
      DATA_STREAMING_DATA_DIR: mkdtempSync(join(tmpdir(), 'dsa-system-')),
      ...env,
    },
  });
  const http = `http://127.0.0.1:${port}`;
  await eventually(
    () =>
      fetch(`${http}/health`)
        .then((response) => response.ok)
        .catch(() => false),
    20_000,
    `the service (${service.output()})`,
  );
  return {
    ...service,
    http,
    ws: `ws://127.0.0.1:${port}`,
    stop: async () => {
      service.child.kill('SIGTERM');
      await service.exited;
    },
  };
}
