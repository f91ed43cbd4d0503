import { Kafka, logLevel, type LogEntry, type logCreator, type SASLOptions } from 'kafkajs';
import type { Logger } from 'pino';
import type { KafkaConfig } from '../config/config';
import type { KafkaSasl } from '../config/kafka-security';

const PINO_LEVEL: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** kafkajs logs through our pino logger, so broker trouble shows in the same JSON stream. */
function pinoLogCreator(logger: Logger): logCreator {
  return () =>
    ({ level, log }: LogEntry) => {
      const { message, ...rest } = log;
      logger[PINO_LEVEL[level] ?? 'info']({ kafka: rest }, message);
    };
}

/** The one place that builds the kafkajs client: swap it here for another client with a
 *  KafkaJS-compatible API. */
export function createKafka(config: KafkaConfig, logger: Logger): Kafka {
  return new Kafka({
    clientId: config.clientId,
    brokers: config.brokers,
    connectionTimeout: config.connectTimeoutMs,
    // TLS and SASL for every client the service builds (producer, consumers, admin): docs/security.md.
    ...(config.ssl && { ssl: Object.keys(config.ssl).length > 0 ? config.ssl : true }),
    ...(config.sasl && { sasl: saslOptions(config.sasl) }),
    requestTimeout: 30_000,
    logLevel: logLevel.WARN,
    logCreator: pinoLogCreator(logger.child({ component: 'kafkajs' })),
    // A short first backoff recovers from a leader move in milliseconds; 12 retries (about 26 s in
    // all) ride through a broker restart. With 8 (about 6 s) a consumer's group-coordinator lookup
    // gave up during a 6.6 s broker restart in the chaos run, and the process exited (code 70).
    retry: { initialRetryTime: 25, maxRetryTime: 5_000, retries: 12 },
  });
}

/** kafkajs types each mechanism apart; the config holds one shape. */
function saslOptions(sasl: KafkaSasl): SASLOptions {
  const { username, password } = sasl;
  switch (sasl.mechanism) {
    case 'plain':
      return { mechanism: 'plain', username, password };
    case 'scram-sha-256':
      return { mechanism: 'scram-sha-256', username, password };
    case 'scram-sha-512':
      return { mechanism: 'scram-sha-512', username, password };
  }
}
