import 'reflect-metadata';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, loadConfig, type AppConfig } from './config/config';
import { createLogger } from './common/logger';
import type { INestApplication } from '@nestjs/common';
import type { Logger } from 'pino';
import { createApp } from './app';
import { OpsSurface } from './ops/ops-listener';

async function main(): Promise<void> {
  let config: AppConfig;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`hookstream: cannot start. ${error.message}`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  try {
    const app = await createApp(config, logger);
    await app.listen(config.port, config.host);
    const opsPort = await app.get(OpsSurface).listen(app);
    const address = (app.getHttpServer() as Server).address() as AddressInfo;
    logger.info({ port: address.port, opsPort, roles: [...config.roles] }, 'hookstream ready');
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.once(signal, () => void shutdown(app, logger, signal, config.shutdownTimeoutMs));
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    logger.fatal({ err: error }, `startup failed: ${message}`);
    console.error(`hookstream: startup failed: ${message}`);
    process.exit(1);
  }
}

/**
 * Stops consuming, lets in-flight deliveries finish within the deadline, commits what finished and
 * closes connections (Nest's shutdown hooks; the consumers stop in ConsumerRunner.close); a second signal or a hung hook
 * forces the exit.
 */
async function shutdown(
  app: INestApplication,
  logger: Logger,
  signal: string,
  timeoutMs: number,
): Promise<void> {
  logger.info({ signal }, 'shutting down');
  const force = setTimeout(() => {
    logger.error('shutdown deadline passed; exiting with work abandoned (it will be redelivered)');
    process.exit(1);
  }, timeoutMs + 5_000);
  force.unref();
  try {
    await app.close();
    logger.info('shutdown complete');
    process.exit(0);
  } catch (error) {
    logger.error({ err: error }, 'shutdown failed');
    process.exit(1);
  }
}

void main();
