/**
 * Entry point: load and validate the configuration (a bad value stops here, naming the key), start the service,
 * and shut down gracefully on SIGTERM/SIGINT within service.shutdown_timeout.
 */
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import cluster from 'node:cluster';
import { createServer } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { createApp, listen } from './app.factory';
import { ConfigError, loadConfig } from './config/config.loader';
import type { AppConfig } from './config/config.schema';
import { StorageError, prepareDataDir } from './storage/sqlite';
import { createServiceLogger } from './common/service-logger';

/** Worker restarts allowed within a minute before the primary gives up (a crash loop, not a one-off). */
const MAX_RESTARTS_PER_MINUTE = 5;
/** Exit status when the port cannot be had (EX_UNAVAILABLE): unlike a configuration error, a restart may cure it. */
const EXIT_PORT_UNAVAILABLE = 69;

/**
 * Why `service.host`:`service.port` cannot be listened on (in use, not permitted), or undefined when it can: asked
 * before anything starts, so that a port in use ends the start with one line naming it and its key, not a stack
 * after the framework's "successfully started".
 */
function cannotListen(host: string, port: number): Promise<string | undefined> {
  if (port === 0) return Promise.resolve(undefined);
  const where = `port ${port} on ${host} (service.port, DATA_STREAMING_API_PORT; service.host, DATA_STREAMING_API_HOST)`;
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') resolve(`${where} is already in use: stop what holds it or choose another port`);
      else if (error.code === 'EACCES') resolve(`${where} is not permitted to this user: choose a port above 1023`);
      else if (error.code === 'EADDRNOTAVAIL') resolve(`${where}: no interface of this machine has that address`);
      else resolve(`${where} cannot be listened on: ${error.message}`);
    });
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(undefined)));
  });
}

/**
 * With Redis, `service.workers` processes share the port (Node's cluster) and the bus: each worker is a full
 * instance. The primary only starts, restarts and stops them.
 */
function runPrimary(config: AppConfig, logger: Logger): void {
  const restarts: number[] = [];
  let stopping = false;
  const fork = (): void => {
    if (stopping) return;
    cluster.fork().on('exit', (code, signal) => {
      if (stopping) return;
      const now = Date.now();
      restarts.push(now);
      while ((restarts[0] ?? now) < now - 60_000) restarts.shift();
      if (restarts.length > MAX_RESTARTS_PER_MINUTE) {
        logger.error(`Workers keep exiting (${restarts.length} in a minute); stopping`);
        process.exit(1);
      }
      logger.warn(`A worker exited (${signal || `code ${code}`}); starting another`);
      setTimeout(fork, 1000);
    });
  };
  for (let index = 0; index < config.service.workers; index++) fork();
  logger.log(`Started ${config.service.workers} workers sharing port ${config.service.port} and Redis`);
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal} received: stopping the workers`);
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
    setTimeout(() => process.exit(1), (config.service.shutdown_timeout + 1) * 1000).unref();
    const check = setInterval(() => {
      if (Object.keys(cluster.workers ?? {}).length === 0) {
        clearInterval(check);
        process.exit(0);
      }
    }, 50);
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`data-streaming-api: ${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }
  // Read by V8 at each full collection, so setting it now, before the service holds anything, is in time.
  if (config.performance.heap_compaction) setFlagsFromString('--compact-on-every-full-gc');
  if (cluster.isPrimary) {
    const refused = await cannotListen(config.service.host, config.service.port);
    if (refused) {
      process.stderr.write(`data-streaming-api: ${refused}\n`);
      process.exit(EXIT_PORT_UNAVAILABLE);
    }
  }
  // Every Logger, Nest's own included, writes through the service's logger from here on (JSON lines unless a terminal).
  Logger.overrideLogger(createServiceLogger(config.performance));
  const logger = new Logger('Bootstrap');
  if (config.auth.api_keys.length === 0) {
    if (process.env.NODE_ENV === 'production') {
      process.stderr.write('data-streaming-api: refusing to start in production without API keys (DATA_STREAMING_API_KEYS)\n');
      process.exit(78);
    }
    logger.warn('No API keys configured (DATA_STREAMING_API_KEYS): publishing is open. Never run like this in production.');
  }
  if (cluster.isPrimary && config.service.workers > 1) {
    if (config.redis.url !== '') {
      runPrimary(config, logger);
      return;
    }
    logger.log(
      `service.workers is ${config.service.workers}, but processes can share the bus only through Redis (DATA_STREAMING_REDIS_URL): running one`,
    );
  }
  prepareDataDir(config.storage.data_dir);
  const app = await createApp(config);
  await listen(app, config);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal} received: closing streams and shutting down`);
    setTimeout(() => {
      logger.error(`Shutdown took longer than ${config.service.shutdown_timeout} s; exiting`);
      process.exit(1);
    }, config.service.shutdown_timeout * 1000).unref();
    app
      .close()
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        logger.error(`Shutdown failed: ${(error as Error).message}`);
        process.exit(1);
      });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
    // Taken between the check above and the listen.
    process.stderr.write(`data-streaming-api: port in use (service.port, DATA_STREAMING_API_PORT): ${(error as Error).message}\n`);
    process.exit(EXIT_PORT_UNAVAILABLE);
  }
  if (error instanceof StorageError) {
    process.stderr.write(`data-streaming-api: ${error.message}\n`);
    process.exit(74);
  }
  process.stderr.write(`data-streaming-api failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
