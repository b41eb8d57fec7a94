/**
 * Entry point: load and validate the configuration (a bad value stops here, naming the key), start the service,
 * and shut down gracefully on SIGTERM/SIGINT within service.shutdown_timeout.
 */
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApp, listen } from './app.factory';
import { ConfigError, loadConfig } from './config/config.loader';

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
  const logger = new Logger('Bootstrap');
  if (config.auth.api_keys.length === 0) {
    if (process.env.NODE_ENV === 'production') {
      process.stderr.write('data-streaming-api: refusing to start in production without API keys (DATA_STREAMING_API_KEYS)\n');
      process.exit(78);
    }
    logger.warn('No API keys configured (DATA_STREAMING_API_KEYS): publishing is open. Never run like this in production.');
  }
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
  process.stderr.write(`data-streaming-api failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
