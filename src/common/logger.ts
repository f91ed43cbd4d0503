import type { LoggerService } from '@nestjs/common';
import pino, { type DestinationStream, type Logger } from 'pino';

/** Paths that must never reach a log line (Standard Webhooks signatures, secrets, API keys). */
export const REDACTED_PATHS = [
  'secret',
  'key',
  'apiKey',
  'token',
  'authorization',
  'signature',
  '*.secret',
  '*.key',
  '*.apiKey',
  '*.token',
  '*.authorization',
  '*.signature',
  'secrets',
  '*.secrets',
  '["webhook-signature"]',
  '*["webhook-signature"]',
  'headers.authorization',
  'headers["webhook-signature"]',
  '*.headers.authorization',
  '*.headers["webhook-signature"]',
  'req.headers.authorization',
  // A TypeORM QueryFailedError carries the query's parameters, and pg's error a detail quoting values.
  'parameters',
  '*.parameters',
  '*.detail',
  '*.driverError',
];

/** JSON lines to stdout at LOG_LEVEL; `destination` lets tests read what would be written. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'hookstream' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
  return destination ? pino(options, destination) : pino(options);
}

/** Routes Nest's own log calls (bootstrap, router) into the same pino stream. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, context?: string): void {
    this.logger.info({ context }, String(message));
  }
  error(message: unknown, trace?: string, context?: string): void {
    this.logger.error({ context, trace }, String(message));
  }
  warn(message: unknown, context?: string): void {
    this.logger.warn({ context }, String(message));
  }
  debug(message: unknown, context?: string): void {
    this.logger.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: string): void {
    this.logger.trace({ context }, String(message));
  }
}
