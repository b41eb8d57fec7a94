/**
 * The command line of the client library (`data-streaming`, packages/client/bin) against the real service: publish
 * from an argument and from standard input, tail from a time and after an id, refusals and bad usage.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT, startService } from './support/process';

const CLI = join(REPO_ROOT, 'packages/client/bin/data-streaming.mjs');
const KEY = 'cli-test-key-0a1b2c3d4e5f6789';

function cli(
  args: string[],
  options: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += String(chunk)));
    child.stderr.on('data', (chunk: Buffer) => (stderr += String(chunk)));
    const timer = setTimeout(() => child.kill('SIGINT'), options.timeoutMs ?? 10_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

describe('the data-streaming command line', () => {
  let service: Awaited<ReturnType<typeof startService>>;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    service = await startService({ DATA_STREAMING_API_KEYS: `${KEY}:read+publish` });
    env = { DATA_STREAMING_API_URL: service.http, DATA_STREAMING_API_KEY: KEY };
  });
  afterAll(async () => {
    service.child.kill('SIGTERM');
    await service.exited;
  });

  it('publishes from an argument and from standard input, and tails them from a time and after an id', async () => {
    const start = new Date().toISOString();
    const one = await cli(['publish', 'business_events', 'cli.test', '{"sequence":0}'], { env });
    expect(one).toMatchObject({ code: 0 });
    const firstId = one.stdout.trim();
    expect(firstId).toMatch(/^[\w-]+:\d+$/);
    const input = [1, 2, 3].map((sequence) => JSON.stringify({ sequence, model: `m${sequence}` })).join('\n');
    const many = await cli(['publish', 'business_events', 'cli.test', '--key-field', 'model'], { env, input: `${input}\n` });
    expect(many.code).toBe(0);
    expect(many.stdout.trim().split('\n')).toHaveLength(3);
    expect(many.stderr).toContain('3 events published to business_events');

    const fromTime = await cli(['tail', 'business_events', '--from', start, '--count', '4'], { env });
    expect(fromTime.code).toBe(0);
    const events = fromTime.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { id: string; type: string; key?: string; data: { sequence: number } });
    expect(events.map((event) => event.data.sequence)).toEqual([0, 1, 2, 3]);
    expect(events[0]?.id).toBe(firstId);
    expect(events.map((event) => event.key)).toEqual([undefined, 'm1', 'm2', 'm3']);
    expect(fromTime.stderr).toContain(`resume with --since ${events[3]?.id}`);

    const afterId = await cli(['tail', 'business_events', '--since', firstId, '--count', '3'], { env });
    expect(
      afterId.stdout
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as { data: { sequence: number } }).data.sequence),
    ).toEqual([1, 2, 3]);
  });

  it('follows live events until stopped, and says where to resume', async () => {
    const tail = spawn(process.execPath, [CLI, 'tail', 'system_alerts'], { env: { PATH: process.env.PATH, ...env } });
    let stdout = '';
    let stderr = '';
    tail.stdout.on('data', (chunk: Buffer) => (stdout += String(chunk)));
    tail.stderr.on('data', (chunk: Buffer) => (stderr += String(chunk)));
    await new Promise((done) => setTimeout(done, 1000));
    const published = await cli(['publish', 'system_alerts', 'cli.live', '{"n":1}'], { env });
    const id = published.stdout.trim();
    const deadline = Date.now() + 5000;
    while (!stdout.includes(id) && Date.now() < deadline) await new Promise((done) => setTimeout(done, 50));
    tail.kill('SIGINT');
    const code = await new Promise((done) => tail.on('exit', done));
    expect(code).toBe(0);
    expect(JSON.parse(stdout.trim().split('\n').at(-1) as string)).toMatchObject({ id, type: 'cli.live', data: { n: 1 } });
    expect(stderr).toContain(`resume with --since ${id}`);
  });

  it('says what the service refused, and how it is used, with distinct exit codes, never showing the key', async () => {
    const refused = await cli(['tail', 'metrics_updates'], { env: { ...env, DATA_STREAMING_API_KEY: 'wrong-key-0123456789abcdef' } });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^data-streaming: metrics_updates: /);
    const unknown = await cli(['tail', 'no_such_channel'], { env });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no_such_channel');
    const bad = await cli(['publish', 'metrics_updates', 'x', '{not json'], { env });
    expect(bad.code).toBe(2);
    const invalid = await cli(['publish', 'no_such_channel', 'x', '{}'], { env });
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/refused \(HTTP 400/);
    const usage = await cli(['frobnicate'], { env });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('usage:');
    for (const result of [refused, unknown, bad, invalid, usage]) expect(result.stderr + result.stdout).not.toContain(KEY);
  });
});
