import 'reflect-metadata';
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
    logger.info({ port: config.port, roles: [...config.roles] }, 'hookstream ready');
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    logger.fatal({ err: error }, `startup failed: ${message}`);
    console.error(`hookstream: startup failed: ${message}`);
    process.exit(1);
  }
}

void main();
