// The systemd unit (provisioning/systemd/data-streaming-api.service) checked by systemd's own tools without a running
// systemd: `systemd-analyze verify` must say nothing about it, `systemd-analyze security --offline=true` must rate it
// "OK" or better (its exposure score printed), and both are shown to catch what they exist for. Then the unit's own
// command line and environment start the built service as production would, and its stop signal ends it within the
// unit's TimeoutStopSec. (Its sandbox is not exercised here: that needs systemd as PID 1.)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT, freePort, requireBinary, run, untilHealthy } from './helpers.mjs';

const ANALYZE = requireBinary('/usr/bin/systemd-analyze', 'systemd');
const UNIT = 'data-streaming-api.service';
const source = readFileSync(join(ROOT, 'provisioning/systemd', UNIT), 'utf8');
/** Levels of `systemd-analyze security`, best first; the unit must rate OK or better. */
const LEVELS = ['PERFECT', 'SAFE', 'OK', 'MEDIUM', 'EXPOSED', 'UNSAFE'];

/** The unit's `Key=value` lines of one section, in order (a key may repeat). */
function entries(text, section) {
  const lines = text.split('\n');
  const start = lines.indexOf(`[${section}]`);
  assert.ok(start >= 0, `no [${section}] section`);
  const out = [];
  for (const line of lines.slice(start + 1)) {
    if (line.startsWith('[')) break;
    const match = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (match) out.push([match[1], match[2]]);
  }
  return out;
}
const value = (section, key) => entries(source, section).find(([name]) => name === key)?.[1];

/**
 * The unit as it would be installed from this checkout: the repository in place of /opt/data-streaming-api, this
 * Node in place of /usr/bin/node (verify checks that ExecStart's program exists), an environment file of its own.
 */
function installed(text = source) {
  const dir = mkdtempSync(join(tmpdir(), 'dsa-systemd-'));
  const environment = join(dir, 'data-streaming-api.env');
  writeFileSync(environment, 'DATA_STREAMING_API_KEYS=systemd-test-key-0123456789abcdef:read+publish+admin\n');
  const unit = join(dir, UNIT);
  writeFileSync(
    unit,
    text
      .replaceAll('/opt/data-streaming-api', ROOT)
      .replaceAll('/usr/bin/node', process.execPath)
      .replace('/etc/data-streaming-api/data-streaming-api.env', environment),
  );
  return { dir, unit, environment };
}

function analyze(...args) {
  const result = spawnSync(ANALYZE, args, { encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

function exposure(unit) {
  const { output } = analyze('security', '--offline=true', '--no-pager', unit);
  const match = /Overall exposure level for \S+: ([\d.]+) (\w+)/.exec(output);
  assert.ok(match, output);
  return { score: Number(match[1]), level: match[2] };
}

test('systemd-analyze verify finds nothing to say about the unit, and speaks up about a misspelt key', () => {
  const { unit } = installed();
  const clean = analyze('verify', unit);
  assert.equal(clean.output.trim(), '', clean.output);
  assert.equal(clean.status, 0);
  const { unit: broken } = installed(source.replace('MemoryMax=2G', 'MemoryMx=2G'));
  assert.match(analyze('verify', broken).output, /Unknown key( name)? 'MemoryMx'/);
});

test('systemd-analyze security rates the unit OK or better, and rates a unit without its sandbox worse', () => {
  const { unit } = installed();
  const rated = exposure(unit);
  process.stdout.write(`# systemd-analyze security --offline=true ${UNIT}: ${rated.score} ${rated.level}\n`);
  assert.ok(LEVELS.indexOf(rated.level) >= 0 && LEVELS.indexOf(rated.level) <= LEVELS.indexOf('OK'), `${rated.score} ${rated.level}`);
  // The same unit with its [Service] sandbox lines removed: the tool must see the difference.
  const bare = source.replace(/# Sandboxing\.[\s\S]*?\n\n/, '\n');
  assert.notEqual(bare, source);
  const unsandboxed = exposure(installed(bare).unit);
  assert.ok(LEVELS.indexOf(unsandboxed.level) > LEVELS.indexOf('OK'), `${unsandboxed.score} ${unsandboxed.level}`);
});

test("the unit holds the task's resources, restarts on failure, keeps its data in its state directory", () => {
  assert.equal(value('Service', 'MemoryMax'), '2G');
  assert.equal(value('Service', 'CPUQuota'), '400%');
  assert.equal(value('Service', 'Restart'), 'on-failure');
  assert.equal(value('Service', 'RestartPreventExitStatus'), '78');
  assert.equal(value('Service', 'DynamicUser'), 'yes');
  assert.equal(value('Service', 'ProtectSystem'), 'strict');
  assert.equal(value('Service', 'NoNewPrivileges'), 'yes');
  const environment = entries(source, 'Service')
    .filter(([key]) => key === 'Environment')
    .map(([, text]) => text);
  assert.ok(environment.includes(`DATA_STREAMING_DATA_DIR=/var/lib/${value('Service', 'StateDirectory')}`), environment.join(' '));
  assert.ok(environment.includes('NODE_ENV=production'));
  assert.equal(value('Install', 'Alias'), 'citadel-data-streaming-api.service');
  // The service stops within service.shutdown_timeout (default 5 s); systemd must wait longer than that.
  assert.ok(Number(value('Service', 'TimeoutStopSec')) > 5);
});

test("the unit's command line and environment start the built service in production, and its stop signal ends it in time", async () => {
  const { environment } = installed();
  const port = await freePort();
  const env = { PATH: process.env.PATH };
  for (const [key, text] of entries(source, 'Service')) {
    if (key !== 'Environment') continue;
    const [name, ...rest] = text.split('=');
    env[name] = rest.join('=');
  }
  for (const line of readFileSync(environment, 'utf8').split('\n').filter(Boolean)) {
    const [name, ...rest] = line.split('=');
    env[name] = rest.join('=');
  }
  // Loopback and a data directory of the test's own, in place of 0.0.0.0 and /var/lib (tests use loopback only).
  Object.assign(env, {
    DATA_STREAMING_API_HOST: '127.0.0.1',
    DATA_STREAMING_API_PORT: String(port),
    DATA_STREAMING_DATA_DIR: mkdtempSync(join(tmpdir(), 'dsa-systemd-state-')),
  });
  const [program, ...args] = value('Service', 'ExecStart')
    .replaceAll('/opt/data-streaming-api', ROOT)
    .replace('/usr/bin/node', process.execPath)
    .split(' ');
  const service = run(program, args, { cwd: value('Service', 'WorkingDirectory').replace('/opt/data-streaming-api', ROOT), env });
  try {
    await untilHealthy(`http://127.0.0.1:${port}`, 20_000, () => `the service started as the unit starts it (${service.output()})`);
    const unauthenticated = await fetch(`http://127.0.0.1:${port}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channel: 'metrics_updates', type: 'systemd.check', data: {} }),
    });
    assert.equal(unauthenticated.status, 401, 'production with keys from the environment file refuses an anonymous publish');
  } finally {
    const stopping = Date.now();
    service.child.kill(value('Service', 'KillSignal'));
    const { code } = await service.exited;
    const took = Date.now() - stopping;
    assert.equal(code, 0, service.output());
    assert.ok(took < Number(value('Service', 'TimeoutStopSec')) * 1000, `stopped in ${took} ms`);
  }
});
