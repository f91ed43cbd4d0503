#!/usr/bin/env node
/**
 * `npx hookstream-outbox-relay`: the outbox relay as a process the platform deploys next to its
 * service. Configured by environment (relay-config.ts); SIGTERM or SIGINT finish the claim in
 * progress and exit. Several may run at once.
 */
import { OutboxRelay } from '../outbox/relay';
import { relayOptionsFromEnv } from '../outbox/relay-config';

async function main(): Promise<void> {
  const options = relayOptionsFromEnv(process.env);
  const relay = new OutboxRelay({ ...options, log: (message) => console.error(message) });
  await relay.start();
  const port = relay.metricsPort();
  console.log(
    `hookstream-outbox-relay: ${options.table ?? 'hookstream_outbox'} -> ${options.topic}` +
      (port === undefined ? '' : `, metrics on :${port}/metrics`),
  );
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    relay.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  console.error(`hookstream-outbox-relay: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
