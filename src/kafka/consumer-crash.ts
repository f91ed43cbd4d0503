import type { Consumer } from 'kafkajs';
import type { Logger } from 'pino';

/**
 * kafkajs restarts a consumer after a retriable error but stops it for good after a non-retriable
 * one, while the process would go on looking healthy. Exit instead, so the supervisor restarts the
 * process and the operator sees it; the uncommitted records are consumed again.
 */
export function exitOnFatalCrash(consumer: Consumer, logger: Logger, name: string): void {
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (payload.restart) {
      logger.warn({ consumer: name, err: payload.error }, 'consumer crashed; kafkajs restarts it');
      return;
    }
    logger.fatal(
      { consumer: name, err: payload.error },
      'consumer stopped by a non-retriable error; exiting',
    );
    process.exit(70);
  });
}
