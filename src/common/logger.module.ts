import { Global, Module } from '@nestjs/common';
import type { Logger } from 'pino';

export const LOGGER = Symbol('LOGGER');

/** One pino logger for the process; classes take child loggers with their own bindings. */
@Global()
@Module({})
export class LoggerModule {
  static forRoot(logger: Logger) {
    return { module: LoggerModule, providers: [{ provide: LOGGER, useValue: logger }], exports: [LOGGER] };
  }
}
