/** Starts the real service on a free loopback port with test overrides; the demo generator is off unless asked. */
import type { NestExpressApplication } from '@nestjs/platform-express';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, listen } from '../../src/app.factory';
import { checkedPorts } from './contract';
import { loadConfig, type DeepPartial } from '../../src/config/config.loader';
import type { AppConfig } from '../../src/config/config.schema';

export interface RunningApp {
  app: NestExpressApplication;
  config: AppConfig;
  http: string;
  ws: string;
  close(): Promise<void>;
}

/** A fresh directory for one service's durable state. */
export const tempDataDir = (): string => mkdtempSync(join(tmpdir(), 'dsa-data-'));

export async function startApp(overrides: DeepPartial<AppConfig> = {}, env: NodeJS.ProcessEnv = {}): Promise<RunningApp> {
  const config = loadConfig({
    env,
    overrides: {
      ...overrides,
      service: { host: '127.0.0.1', port: 0, ...overrides.service },
      demo: { enabled: false, ...overrides.demo },
      storage: { data_dir: tempDataDir(), ...overrides.storage },
    },
  });
  const app = await createApp(config, { logger: false });
  const { port } = await listen(app, config);
  checkedPorts.add(port);
  let closed = false;
  return {
    app,
    config,
    http: `http://127.0.0.1:${port}`,
    ws: `ws://127.0.0.1:${port}`,
    close: async () => {
      if (closed) return;
      closed = true;
      await app.close();
    },
  };
}

/** POSTs JSON (or raw text) to the service and returns status, headers and parsed body. */
export async function post(
  base: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: unknown }> {
  const response = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON: keep the text.
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

export async function getJson(
  base: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: any }> {
  const response = await fetch(`${base}${path}`, { headers });
  return { status: response.status, headers: response.headers, body: await response.json() };
}

/** A loopback port nothing listens on (for a service to be started on later, or for a refused connection). */
export const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => T | undefined | Promise<T | undefined>, timeoutMs = 5000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}
