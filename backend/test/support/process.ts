/** Runs the built service (dist/main.js) as its own process, the way `npm start` does. */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { eventually, tempDataDir } from './app';
import { checkedPorts } from './contract';

export const REPO_ROOT = resolve(__dirname, '../../..');
const MAIN = resolve(__dirname, '../../dist/main.js');

export interface ServiceProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function runService(env: NodeJS.ProcessEnv): ServiceProcess {
  const child = spawn(process.execPath, [MAIN], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, NO_COLOR: '1', DATA_STREAMING_API_HOST: '127.0.0.1', DATA_STREAMING_DATA_DIR: tempDataDir(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += String(chunk)));
  child.stderr.on('data', (chunk: Buffer) => (output += String(chunk)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.on('exit', (code, signal) => done({ code, signal })),
  );
  return { child, output: () => output.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g'), ''), exited };
}

/** Starts the service on a free port and resolves with its base URL once it listens. */
export async function startService(env: NodeJS.ProcessEnv = {}): Promise<ServiceProcess & { http: string; ws: string }> {
  const service = runService({ DATA_STREAMING_API_PORT: '0', DATA_STREAMING_DEMO_ENABLED: 'false', ...env });
  const port = await eventually(() => /listening on http:\/\/[^:]+:(\d+)/.exec(service.output())?.[1], 15_000, 'the service to listen');
  checkedPorts.add(Number(port));
  return { ...service, http: `http://127.0.0.1:${port}`, ws: `ws://127.0.0.1:${port}` };
}
