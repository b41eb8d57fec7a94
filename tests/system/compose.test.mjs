// The container files checked with the tools this machine has (no container engine runs here, and no image can be
// pulled): `docker-compose config` validates compose.yaml and resolves it; its Prometheus and Alertmanager
// configurations pass promtool and amtool; Grafana gets what the provisioned data source reads; and every path the
// Dockerfile copies out of its build stage is one the build makes (checked on this checkout, built).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { load } from 'js-yaml';
import { ROOT, requireBinary } from './helpers.mjs';

const COMPOSE = requireBinary('/usr/bin/docker-compose', 'docker-compose');
const PROMTOOL = requireBinary('/usr/bin/promtool', 'prometheus');
const AMTOOL = requireBinary('/usr/bin/amtool', 'prometheus-alertmanager');
const KEYS = {
  DATA_STREAMING_API_KEYS: 'compose-check-key-0123456789:read+publish+admin',
  DATA_STREAMING_API_KEY: 'compose-check-key-0123456789',
};

function compose(env) {
  const result = spawnSync(COMPOSE, ['-f', 'compose.yaml', 'config'], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, ...env },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('docker-compose validates compose.yaml, and refuses to start the stack without an API key', () => {
  const resolved = compose(KEYS);
  assert.equal(resolved.status, 0, resolved.stderr);
  const config = load(resolved.stdout);
  assert.deepEqual(Object.keys(config.services).sort(), ['alertmanager', 'data-streaming-api', 'grafana', 'prometheus']);
  const missing = compose({});
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /DATA_STREAMING_API_KEYS/);
});

test('Grafana in compose gets the plugin, the provisioning and every variable the provisioned data sources read', () => {
  const grafana = load(compose(KEYS).stdout).services.grafana;
  const mounts = grafana.volumes.map((volume) => (typeof volume === 'string' ? volume : `${volume.source}:${volume.target}`));
  assert.ok(
    mounts.some(
      (mount) => mount.includes('grafana-plugin/dist') && mount.includes('/var/lib/grafana/plugins/llmops-datastreaming-datasource'),
    ),
    mounts.join(' '),
  );
  assert.ok(
    mounts.some((mount) => mount.includes('provisioning/grafana') && mount.includes('/etc/grafana/provisioning')),
    mounts.join(' '),
  );
  assert.equal(grafana.environment.GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS, 'llmops-datastreaming-datasource');
  const datasources = readFileSync(join(ROOT, 'provisioning/grafana/datasources/datasources.yml'), 'utf8')
    .split('\n')
    .filter((line) => !line.trim().startsWith('#'))
    .join('\n');
  const read = [...new Set([...datasources.matchAll(/\$\{?([A-Z_][A-Z0-9_]*)\}?/g)].map((match) => match[1]))];
  assert.ok(read.length >= 3, read.join(' '));
  for (const name of read) assert.ok(grafana.environment[name], `Grafana's environment in compose.yaml lacks ${name}`);
  // The plugin's image version is one the plugin supports (plugin.json's grafanaDependency, ">=x.y.z").
  const lowest = /^>=\s*(\d+)\.(\d+)\.(\d+)$/.exec(
    JSON.parse(readFileSync(join(ROOT, 'grafana-plugin/src/plugin.json'), 'utf8')).dependencies.grafanaDependency,
  );
  const image = /:(\d+)\.(\d+)\.(\d+)$/.exec(grafana.image);
  assert.ok(lowest && image, grafana.image);
  const version = (match) => Number(match[1]) * 1e6 + Number(match[2]) * 1e3 + Number(match[3]);
  assert.ok(version(image) >= version(lowest), `${grafana.image} is older than ${lowest[0]}`);
});

test("compose's Prometheus and Alertmanager configurations pass promtool and amtool", () => {
  // Prometheus reads its rules where compose mounts them; here, from the repository.
  const dir = mkdtempSync(join(tmpdir(), 'dsa-compose-'));
  const prometheus = join(dir, 'prometheus.yml');
  writeFileSync(
    prometheus,
    readFileSync(join(ROOT, 'provisioning/compose/prometheus.yml'), 'utf8').replace(
      '/etc/prometheus/data-streaming.rules.yml',
      join(ROOT, 'alerts/data-streaming.rules.yml'),
    ),
  );
  const promtool = spawnSync(PROMTOOL, ['check', 'config', prometheus], { encoding: 'utf8' });
  assert.equal(promtool.status, 0, `${promtool.stdout}${promtool.stderr}`);
  assert.match(promtool.stdout, /SUCCESS: 9 rules found/);
  const amtool = spawnSync(AMTOOL, ['check-config', join(ROOT, 'provisioning/compose/alertmanager.yml')], { encoding: 'utf8' });
  assert.equal(amtool.status, 0, `${amtool.stdout}${amtool.stderr}`);
});

test('the Dockerfile copies out of its build stage only what the build makes, and runs as an unprivileged user', () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const copied = [...dockerfile.matchAll(/^COPY --from=build \/app\/(\S+)/gm)].map((match) => match[1]);
  assert.ok(copied.length > 5);
  for (const path of copied) assert.ok(existsSync(join(ROOT, path)), `${path} is not made by the build (npm run build)`);
  assert.match(dockerfile, /^USER node$/m);
  assert.match(dockerfile, /^HEALTHCHECK .*\n?.*\/health/m);
  assert.match(dockerfile, /^ENV NODE_ENV=production/m);
});
