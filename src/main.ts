import 'reflect-metadata';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, loadConfig, type AppConfig } from './config/config';
import { createLogger } from './common/logger';
import { createApp } from './app';

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
    await app.listen(config.port, process.env.HOST ?? '0.0.0.0');
    const address = (app.getHttpServer() as Server).address() as AddressInfo;
    logger.info({ port: address.port, roles: [...config.roles] }, 'hookstream ready');
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    logger.fatal({ err: error }, `startup failed: ${message}`);
    console.error(`hookstream: startup failed: ${message}`);
    process.exit(1);
  }
}

void main();
