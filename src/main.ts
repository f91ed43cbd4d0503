import 'reflect-metadata';
import cluster from 'node:cluster';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, loadConfig, type AppConfig } from './config/config';
import { bootWarnings } from './config/boot-warnings';
import { createLogger } from './common/logger';
import type { INestApplication } from '@nestjs/common';
import type { Logger } from 'pino';
import { createApp } from './app';
import { OpsSurface } from './ops/ops-listener';
import { WorkerSupervisor } from './cluster/workers';
import { isMessage, type ServeHttp, type WorkerReady } from './cluster/worker-protocol';

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
  // Once per service: a supervisor's workers read the same configuration.
  if (cluster.isPrimary) for (const warning of bootWarnings(config)) logger.warn(warning);
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
    if (!cluster.isWorker) {
      const { port, opsPort } = await listen(app, config);
      logger.info({ port, opsPort, roles: [...config.roles] }, 'hookstream ready');
    } else {
      const http = process.env.HOOKSTREAM_WORKER_HTTP !== '0';
      // A worker that only consumes gets no connections (README decision 73) until the supervisor
      // asks it to take the place of an HTTP worker that died.
      const { port, opsPort } = http ? await listen(app, config) : { port: null, opsPort: null };
      if (!http) {
        const onMessage = (message: unknown): void => {
          if (!isMessage<ServeHttp>(message, 'hookstream:serve-http')) return;
          process.off('message', onMessage);
          void takeOverHttp(app, config, logger);
        };
        process.on('message', onMessage);
      }
      // The supervisor says "hookstream ready" once every worker has said this.
      logger.info(
        { port, opsPort, worker: process.env.HOOKSTREAM_WORKER_INDEX, pid: process.pid, http },
        'worker ready',
      );
      process.send?.({ type: 'hookstream:worker-ready', port, opsPort } satisfies WorkerReady);
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

/** Listens on the public port and, with OPS_PORT, the ops port; resolves to both. */
async function listen(
  app: INestApplication,
  config: AppConfig,
): Promise<{ port: number; opsPort: number | null }> {
  await app.listen(config.port, config.host);
  const opsPort = await app.get(OpsSurface).listen(app);
  return { port: ((app.getHttpServer() as Server).address() as AddressInfo).port, opsPort };
}

/** Starts listening in place of an HTTP worker that died, when the supervisor asks (decision 73). */
async function takeOverHttp(app: INestApplication, config: AppConfig, logger: Logger): Promise<void> {
  try {
    const { port, opsPort } = await listen(app, config);
    logger.info(
      { port, opsPort, worker: process.env.HOOKSTREAM_WORKER_INDEX, pid: process.pid },
      'worker now serves HTTP',
    );
  } catch (error) {
    // The supervisor restarts a worker that exits; it counted on this one to serve.
    logger.fatal({ err: error }, 'could not take over the HTTP ports');
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
