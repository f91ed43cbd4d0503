import 'reflect-metadata';
import cluster from 'node:cluster';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, loadConfig, type AppConfig } from './config/config';
import { createLogger } from './common/logger';
import type { INestApplication } from '@nestjs/common';
import type { Logger } from 'pino';
import { createApp } from './app';
import { OpsSurface } from './ops/ops-listener';
import { WorkerSupervisor } from './cluster/workers';
import type { WorkerReady } from './cluster/worker-protocol';

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
  if (cluster.isPrimary && config.workers > 1) {
    try {
      await new WorkerSupervisor(config, logger).start();
    } catch (error) {
      // The worker has said why in its own log lines; the supervisor ends with it.
      logger.fatal({ err: error }, 'startup failed: a worker could not start');
      console.error(`hookstream: startup failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    }
    return;
  }
  try {
    const app = await createApp(config, logger);
    await app.listen(config.port, config.host);
    const opsPort = await app.get(OpsSurface).listen(app);
    const address = (app.getHttpServer() as Server).address() as AddressInfo;
    if (cluster.isWorker) {
      // The supervisor says "hookstream ready" once every worker has said this.
      logger.info(
        { port: address.port, opsPort, worker: process.env.HOOKSTREAM_WORKER_INDEX },
        'worker ready',
      );
      process.send?.({ type: 'hookstream:worker-ready', port: address.port, opsPort } satisfies WorkerReady);
    } else {
      logger.info({ port: address.port, opsPort, roles: [...config.roles] }, 'hookstream ready');
    }
    let stopping = false;
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.on(signal, () => {
        if (!stopping) {
          stopping = true;
          void shutdown(app, logger, signal, config.shutdownTimeoutMs);
        } else if (!cluster.isWorker) {
          // A second signal by hand: stop waiting. A worker gets two as a rule (Ctrl-C reaches the
          // whole process group, and the supervisor forwards its own), so it keeps draining.
          logger.warn({ signal }, 'second signal: exiting without waiting for the shutdown');
          process.exit(1);
        }
      });
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
