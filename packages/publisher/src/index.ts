export * from './contract';
export * from './errors';
export * from './event-types';
export { buildCloudEvent, type BuildOptions, type BuiltEvent, type EventRecord } from './cloud-event-builder';
export { EventPublisher, type PublisherOptions } from './publisher';
export { Outbox, type OutboxOptions } from './outbox/outbox';
export {
  createOutboxTable,
  DEFAULT_OUTBOX_TABLE,
  migrateOutboxPayloadToText,
  outboxDdl,
  outboxMigration,
  outboxPayloadTextDdl,
  outboxPayloadTextMigration,
  type SqlExecutor,
} from './outbox/outbox-table';
export { OutboxRelay, type RelayOptions } from './outbox/relay';
export { relayOptionsFromEnv } from './outbox/relay-config';
export type { OutboxBacklog } from './outbox/relay-metrics';
