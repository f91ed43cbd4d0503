/**
 * The event contract, shared with the Hookstream service: these are the service's own modules
 * (src/domain, the pure floor that its lint rules keep free of framework, Kafka and database
 * imports), compiled into this package at build time. The library validates an event by running
 * the very parser the fan-out runs on the bytes and headers it is about to send, so it cannot
 * accept what the service would dead-letter; only the tenant's existence is left to the service.
 */
export {
  parseCloudEvent,
  toStructuredCloudEvent,
  parseRfc3339,
  MAX_ATTRIBUTE_LENGTH,
  MAX_DATA_DEPTH,
  type PlatformEvent,
  type ParseFailureReason,
  type ParseResult,
} from '../../../src/domain/cloud-event';
export {
  ATTRIBUTE_RULES,
  EVENT_ID_PATTERN,
  EVENT_TYPE_PATTERN,
  TENANT_ID_PATTERN,
  attributeTextProblem,
  jsonValueProblem,
} from '../../../src/domain/event-contract';
export type { RecordHeaders } from '../../../src/domain/records';

/** The service's default `HOOKSTREAM_MAX_EVENT_BYTES` (256 KiB): the largest event it accepts. */
export const DEFAULT_MAX_EVENT_BYTES = 256 * 1024;
