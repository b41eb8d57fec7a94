// Shared by the system tests: start the built service and real daemons on loopback ports, and wait for things.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from '@data-streaming/client';
import WebSocket from 'ws';

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

/** Waits until `${http}/health` answers 2xx; on a timeout the error names `what()` (read then, with its output). */
export async function untilHealthy(http, timeoutMs, what) {
  const healthy = () =>
    fetch(`${http}/health`)
      .then((response) => response.ok)
      .catch(() => false);
  await eventually(healthy, timeoutMs).catch(() => {
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
  });
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

/**
 * The built service (npm run build) on a free loopback port (or DATA_STREAMING_API_PORT when given: a restart on
 * the same address), demo off, fresh data directory unless given.
 */
export async function startService(env = {}) {
  const port = env.DATA_STREAMING_API_PORT === undefined ? await freePort() : Number(env.DATA_STREAMING_API_PORT);
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
  await untilHealthy(http, 20_000, () => `the service (${service.output()})`);
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

/**
 * nginx with the provisioned site (provisioning/nginx/data-streaming-api.conf) in front of `upstreams` (host:port of
 * running instances), on a free loopback port, its logs in a directory of its own. Returns its base URLs, the
 * directory and `stop`.
 */
export async function startNginx(upstreams) {
  const nginxBinary = requireBinary('/usr/sbin/nginx', 'nginx-light');
  const dir = mkdtempSync(join(tmpdir(), 'dsa-nginx-'));
  const port = await freePort();
  let site = readFileSync(join(ROOT, 'provisioning/nginx/data-streaming-api.conf'), 'utf8');
  const servers = [...site.matchAll(/^\s*server 127\.0\.0\.1:\d+[^\n]*\n/gm)];
  site = site.replace(
    servers.map((match) => match[0]).join(''),
    upstreams.map((host) => `  server ${host} max_fails=3 fail_timeout=10s;\n`).join(''),
  );
  site = site.replace('listen 8080;', `listen 127.0.0.1:${port};`);
  site = site.replace('/var/log/nginx/data-streaming-api.access.log', join(dir, 'access.log'));
  writeFileSync(join(dir, 'site.conf'), site);
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((name) => `${name}_temp_path ${dir}/${name};`).join(' ');
  writeFileSync(
    join(dir, 'nginx.conf'),
    `daemon off; pid ${dir}/nginx.pid; error_log ${dir}/error.log warn; events {} http { access_log off; ${temp} include ${dir}/site.conf; }\n`,
  );
  const nginx = run(nginxBinary, ['-e', `${dir}/error.log`, '-c', join(dir, 'nginx.conf')]);
  const http = `http://127.0.0.1:${port}`;
  await untilHealthy(http, 10_000, () => `nginx (${nginx.output()})`);
  return {
    http,
    ws: `ws://127.0.0.1:${port}`,
    port,
    dir,
    stop: async () => {
      nginx.child.kill('SIGTERM');
      await nginx.exited;
    },
  };
}

/** One POST /events on a keep-alive agent; resolves with {status, body, headers} or {error}. */
export function publish(agent, port, body, headers = {}) {
  const text = JSON.stringify(body);
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/events',
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers },
      },
      (response) => {
        let answer = '';
        response.on('data', (chunk) => (answer += chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode, headers: response.headers, body: answer ? JSON.parse(answer) : undefined }),
        );
      },
    );
    req.on('error', (error) => resolve({ error: error.code ?? error.message }));
    req.end(text);
  });
}

/**
 * A subscriber made with the client library (@data-streaming/client), as an application makes one: over `ws` (which
 * offers permessage-deflate, as browsers do), reconnecting with backoff and resuming from the last id by itself. It
 * keeps every event, gap notice and error. The welcomes are read off the same sockets, because the tests count
 * resumes and the client surfaces only the gaps they report. `pause()` leaves, `resume()` comes back with `since`.
 */
export function subscriber(base, channel, { since, from, backoff = { initialMs: 100, maxMs: 300 }, onSocket } = {}) {
  const state = { events: [], welcomes: [], gaps: [], errors: [], status: undefined, sockets: 0 };
  const client = createClient({
    url: base.replace(/^ws/, 'http'),
    backoff,
    createSocket: (url, protocols) => {
      const socket = new WebSocket(url, protocols);
      state.sockets++;
      socket.on('message', (data) => {
        const text = String(data);
        if (text.startsWith('{"kind":"welcome"')) state.welcomes.push(JSON.parse(text));
      });
      onSocket?.(socket);
      return socket;
    },
  });
  let subscription;
  const open = (start) => {
    state.status = undefined;
    subscription = client.subscribe(channel, {
      ...start,
      onEvent: (event) => state.events.push(event),
      onGap: (gap) => state.gaps.push(gap),
      onError: (error) => state.errors.push(error),
      onStatus: (status) => (state.status = status),
    });
  };
  open(since !== undefined ? { since } : from !== undefined ? { from } : {});
  /** Where to resume: after the last event, or where the first welcome said the stream stood. */
  const position = () => state.events.at(-1)?.id ?? since ?? state.welcomes[0]?.last_id;
  return Object.assign(state, {
    /** Resolves once the service has taken the subscription (its welcome arrived). */
    opened: (timeoutMs = 10_000) => eventually(() => state.status === 'open', timeoutMs, `the subscription to ${channel}`),
    pause: () => subscription.unsubscribe(),
    resume: () => {
      open({ since: position() });
      return state.opened();
    },
    stop: () => client.close(),
  });
}
