/**
 * The real data-streaming-api, built (`npm run build -w backend`) and started as its own process on loopback, and a
 * Node HTTP client for the data source (jsdom has no fetch; in Grafana the backend service makes these calls).
 */
import { spawn, type ChildProcess } from 'child_process';
import { existsSync, mkdtempSync } from 'fs';
import { request } from 'http';
import { createServer } from 'net';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import type { HttpClient, HttpResponse } from '../live/http';

const MAIN = resolve(__dirname, '../../../backend/dist/main.js');

export const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

export async function eventually<T>(
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 10_000,
  what = 'condition'
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) {
      return value;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await sleep(25);
  }
}

export function httpJson<T>(
  method: string,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {}
): Promise<HttpResponse<T>> {
  return new Promise((done, fail) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      url,
      {
        method,
        headers: { accept: 'application/json', ...(payload ? { 'content-type': 'application/json' } : {}), ...headers },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          let data: unknown = text;
          try {
            data = JSON.parse(text);
          } catch {
            // not JSON: keep the text
          }
          done({ status: res.statusCode ?? 0, data: data as T });
        });
      }
    );
    req.on('error', fail);
    req.end(payload);
  });
}

export const nodeHttp: HttpClient = { get: (url, headers) => httpJson('GET', url, undefined, headers) };

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

export interface Backend {
  url: string;
  port: number;
  child: ChildProcess;
  publish(events: object[]): Promise<string[]>;
  websocketConnections(): Promise<number>;
  stop(): Promise<void>;
}

export async function startBackend(options: { port?: number; env?: Record<string, string> } = {}): Promise<Backend> {
  if (!existsSync(MAIN)) {
    throw new Error(`${MAIN} is missing: build the backend first (npm run build -w backend)`);
  }
  const port = options.port ?? (await freePort());
  const child = spawn(process.execPath, [MAIN], {
    cwd: resolve(__dirname, '../../..'),
    env: {
      PATH: process.env.PATH,
      NO_COLOR: '1',
      DATA_STREAMING_API_HOST: '127.0.0.1',
      DATA_STREAMING_API_PORT: String(port),
      DATA_STREAMING_DEMO_ENABLED: 'false',
      DATA_STREAMING_DATA_DIR: mkdtempSync(join(tmpdir(), 'dsa-plugin-')),
      DATA_STREAMING_MAX_BATCH_EVENTS: '1000',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += String(chunk)));
  child.stderr?.on('data', (chunk: Buffer) => (output += String(chunk)));
  const exited = new Promise<void>((done) => child.on('exit', () => done()));
  const url = `http://127.0.0.1:${port}`;
  await eventually(() => (/listening on/.test(output) ? true : undefined), 20_000, `the backend to listen (${output})`);
  // The first configured key, without its scopes: tests list a key with every scope first.
  const key = options.env?.DATA_STREAMING_API_KEYS?.split(',')[0]?.split(':')[0];
  const auth: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {};
  return {
    url,
    port,
    child,
    publish: async (events) => {
      const response = await httpJson<{ ids: string[] }>('POST', `${url}/events`, events, auth);
      if (response.status !== 202) {
        throw new Error(`publish refused: ${response.status} ${JSON.stringify(response.data)}`);
      }
      return response.data.ids;
    },
    websocketConnections: async () =>
      (await httpJson<{ connections: number }>('GET', `${url}/websocket/status`, undefined, auth)).data.connections,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
