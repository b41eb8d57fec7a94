// The environment the benchmarks start the built service with: loopback, demo off, a fresh data directory, quiet
// logs, and rate limits off (one load generator on one address would measure the limiter, not the service).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function benchServiceEnv(port, extra = {}) {
  return {
    PATH: process.env.PATH,
    DATA_STREAMING_API_HOST: '127.0.0.1',
    DATA_STREAMING_API_PORT: String(port),
    DATA_STREAMING_DEMO_ENABLED: 'false',
    DATA_STREAMING_DATA_DIR: mkdtempSync(join(tmpdir(), 'dsa-bench-')),
    DATA_STREAMING_LOG_LEVEL: 'WARN',
    RATE_LIMIT_ENABLED: 'false',
    ...extra,
  };
}
