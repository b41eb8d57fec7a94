import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { envBindings } from './config.env';
import { ConfigError, loadConfig } from './config.loader';
import { configSchema } from './config.schema';

const REPO_CONFIG = resolve(__dirname, '../../../config/data-streaming-api.yaml');

function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('has the SPEC defaults embedded, loopback outside production', () => {
    const config = loadConfig({ env: {} });
    expect(config.service).toMatchObject({ name: 'data-streaming-api', port: 9102, host: '127.0.0.1', workers: 2, request_timeout: 30 });
    expect(config.websocket).toMatchObject({ max_connections: 200, heartbeat_interval: 30, message_size_limit: 1048576 });
    expect(config.websocket.channels).toEqual(['metrics_updates', 'system_alerts', 'business_events', 'performance_data']);
    expect(config.sse).toMatchObject({ max_connections: 100, retry_timeout: 5000, keep_alive_interval: 30 });
    expect(config.sse.streams).toEqual(['real_time_metrics', 'system_status', 'business_analytics', 'operational_data']);
    expect(config.high_frequency_streams).toMatchObject({ update_rate: 1, buffer_size: 4096, priority: 'high' });
    expect(config.performance_optimization).toMatchObject({ buffer_size: 8192, flush_interval: 100, batch_size: 10 });
    expect(config.real_time_notifications.notification_rules.map((rule) => rule.condition)).toEqual([
      'error_rate > 0.2',
      'latency > 2000',
      'throughput > 1000',
    ]);
    expect(Object.isFrozen(config.websocket.channels)).toBe(true);
    expect(loadConfig({ env: { NODE_ENV: 'production' } }).service.host).toBe('0.0.0.0');
  });

  it('reads the repository YAML file, which matches the embedded defaults', () => {
    const fromFile = loadConfig({ env: { DATA_STREAMING_CONFIG: REPO_CONFIG } });
    expect(fromFile).toEqual(loadConfig({ env: {} }));
  });

  it('applies every SPEC environment variable', () => {
    const config = loadConfig({
      env: {
        DATA_STREAMING_API_PORT: '9200',
        DATA_STREAMING_API_HOST: '127.0.0.2',
        DATA_STREAMING_TIMEOUT: '12',
        DATA_STREAMING_API_MEMORY_GB: '3',
        DATA_STREAMING_API_CPU_CORES: '8',
        WEBSOCKET_MAX_CONNECTIONS: '50',
        WEBSOCKET_COMPRESSION_ENABLED: 'false',
        SSE_RETRY_TIMEOUT: '2500',
        LIVE_DASHBOARD_UPDATE_INTERVAL: '2',
        REAL_TIME_NOTIFICATIONS_CRITICAL_ENABLED: 'false',
        DASHBOARD_REFRESH_MODE: 'full',
        STREAMING_PERFORMANCE_OPTIMIZATION_ENABLED: 'false',
        STREAMING_FLUSH_INTERVAL: '20',
        HIGH_FREQUENCY_STREAMS_PRIORITY: 'normal',
        REAL_TIME_EVENT_PROCESSING_ENDPOINT: 'http://127.0.0.1:9100',
        DATA_STREAMING_DEMO_ENABLED: 'false',
        DATA_STREAMING_API_KEYS: 'aaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbb',
      },
    });
    expect(config.service).toMatchObject({ port: 9200, host: '127.0.0.2', request_timeout: 12 });
    expect(config.performance).toMatchObject({ memory_limit_gb: 3, cpu_cores: 8 });
    expect(config.websocket).toMatchObject({ max_connections: 50, compression_enabled: false });
    expect(config.sse.retry_timeout).toBe(2500);
    expect(config.live_dashboard.update_interval).toBe(2);
    expect(config.real_time_notifications.critical_enabled).toBe(false);
    expect(config.dashboard_refresh.mode).toBe('full');
    expect(config.performance_optimization).toMatchObject({ enabled: false, flush_interval: 20 });
    expect(config.high_frequency_streams.priority).toBe('normal');
    expect(config.monitoring.real_time_event_processing_endpoint).toBe('http://127.0.0.1:9100');
    expect(config.demo.enabled).toBe(false);
    expect(config.auth.api_keys).toEqual(['aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb']);
  });

  it('names the key, the value and the expectation for a value that is not a number', () => {
    expect(problemsOf(() => loadConfig({ env: { WEBSOCKET_MAX_CONNECTIONS: 'abc' } }))).toEqual([
      'websocket.max_connections = "abc" (from WEBSOCKET_MAX_CONNECTIONS): expected a number',
    ]);
  });

  it('refuses a negative interval and a fractional count', () => {
    const problems = problemsOf(() => loadConfig({ env: { SSE_KEEP_ALIVE_INTERVAL: '-5', WEBSOCKET_MAX_CONNECTIONS: '2.5' } }));
    expect(problems).toHaveLength(2);
    expect(problems).toContainEqual(expect.stringMatching(/^sse\.keep_alive_interval = -5 \(from SSE_KEEP_ALIVE_INTERVAL\): .*>0/));
    expect(problems).toContainEqual(
      expect.stringMatching(/^websocket\.max_connections = 2\.5 \(from WEBSOCKET_MAX_CONNECTIONS\): .*expected int/),
    );
  });

  it('refuses an unknown name in a list', () => {
    const streams = problemsOf(() => loadConfig({ env: { SSE_STREAMS: 'real_time_metrics,pigeon_feed' } }));
    expect(streams).toEqual([
      expect.stringContaining('sse.stream_sources.pigeon_feed: stream "pigeon_feed" needs a source channel, one of: metrics_updates'),
    ]);
    const channels = problemsOf(() => loadConfig({ env: { REAL_TIME_NOTIFICATIONS_NOTIFICATION_CHANNELS: 'websocket,pigeon' } }));
    expect(channels).toEqual([
      expect.stringMatching(
        /^real_time_notifications\.notification_channels\.1 = "pigeon" \(from REAL_TIME_NOTIFICATIONS_NOTIFICATION_CHANNELS\): /,
      ),
    ]);
    const dashboards = problemsOf(() => loadConfig({ env: { LIVE_DASHBOARD_DASHBOARDS: 'system_health,bogus' } }));
    expect(dashboards[0]).toContain('live_dashboard.dashboards.1 = "bogus"');
  });

  it('refuses a YAML file with an unknown key, a bad value or bad syntax, naming the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dsa-config-'));
    const file = join(dir, 'config.yaml');
    writeFileSync(file, 'websocket:\n  max_conections: 5\n  heartbeat_interval: soon\n');
    const problems = problemsOf(() => loadConfig({ env: { DATA_STREAMING_CONFIG: file } }));
    expect(problems).toContainEqual(expect.stringMatching(/^websocket = .* \(from .*config\.yaml\): Unrecognized key: "max_conections"/));
    expect(problems).toContainEqual(expect.stringMatching(/^websocket\.heartbeat_interval = "soon" \(from .*config\.yaml\): .*number/));
    writeFileSync(file, 'websocket: [unclosed\n');
    expect(problemsOf(() => loadConfig({ env: { DATA_STREAMING_CONFIG: file } }))[0]).toMatch(/config\.yaml: not valid YAML/);
    expect(problemsOf(() => loadConfig({ env: { DATA_STREAMING_CONFIG: join(dir, 'missing.yaml') } }))[0]).toMatch(
      /missing\.yaml: file not found/,
    );
  });

  it('stops on a rule with a syntax error or an unknown metric, naming the rule and the position', () => {
    const rules = (condition: string) => ({
      real_time_notifications: {
        notification_rules: [{ name: 'cpu_hot', condition, channel: 'all' as const, priority: 'warning' as const, for: 0, cooldown: 60 }],
      },
    });
    expect(problemsOf(() => loadConfig({ env: {}, overrides: rules('error_rate >> 0.2') }))).toEqual([
      'real_time_notifications.notification_rules.0.condition = "error_rate >> 0.2" (from overrides): rule "cpu_hot": expected a metric name or a number but found ">" at position 13',
    ]);
    expect(problemsOf(() => loadConfig({ env: {}, overrides: rules('error_rate > 0.2 or cpu_temp > 90') }))[0]).toContain(
      'rule "cpu_hot": unknown metric "cpu_temp" at position 21; known metrics: error_rate, latency, throughput',
    );
  });

  it('refuses a queue cap smaller than the largest accepted body', () => {
    const problems = problemsOf(() => loadConfig({ env: { SSE_MAX_QUEUE_BYTES: '1000' } }));
    expect(problems[0]).toContain('sse.max_queue_bytes = 1000 (from SSE_MAX_QUEUE_BYTES): must be at least service.max_body_bytes');
  });

  it('needs a token secret when instances share Redis with keys, and never shows secrets in its errors', () => {
    expect(() =>
      loadConfig({ env: { DATA_STREAMING_REDIS_URL: 'redis://127.0.0.1:6379', DATA_STREAMING_API_KEYS: 'k'.repeat(20) } }),
    ).toThrow(/auth\.token_secret: required when instances share Redis/);
    let message = '';
    try {
      loadConfig({ env: { DATA_STREAMING_API_KEYS: 'short-key', DATA_STREAMING_TOKEN_SECRET: 'too-short-secret' } });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/auth\.api_keys\.0 = \(secret, not shown\)/);
    expect(message).toMatch(/auth\.token_secret = \(secret, not shown\)/);
    expect(message).not.toContain('short-key');
    expect(message).not.toContain('too-short-secret');
  });

  it('lets the environment win over .env, and .env over the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dsa-dotenv-'));
    writeFileSync(join(dir, '.env'), '# comment\nWEBSOCKET_MAX_CONNECTIONS=77\nSSE_MAX_CONNECTIONS="66"\n');
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const config = loadConfig({ env: { SSE_MAX_CONNECTIONS: '55' }, dotenv: true });
      expect(config.websocket.max_connections).toBe(77);
      expect(config.sse.max_connections).toBe(55);
    } finally {
      process.chdir(cwd);
    }
  });
});

describe('config/.env.example', () => {
  it('lists every variable the service reads', () => {
    const example = readFileSync(resolve(__dirname, '../../../config/.env.example'), 'utf8');
    const listed = new Set([...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((match) => match[1]));
    const variables = envBindings(configSchema.parse({})).map((binding) => binding.variable);
    expect(variables.filter((variable) => !listed.has(variable))).toEqual([]);
    expect(
      [...listed].filter(
        (variable) => !variables.includes(variable as string) && variable !== 'DATA_STREAMING_CONFIG' && variable !== 'NODE_ENV',
      ),
    ).toEqual([]);
  });
});
