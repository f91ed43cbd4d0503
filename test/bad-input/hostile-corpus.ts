/**
 * The hostile-input corpus of issue 15: for every field reachable from REST and from Kafka, values
 * built to break parsers, PostgreSQL, HTTP headers and JSON round trips, each labelled with what
 * the contract says must become of it. Pure data; hostile-input*.e2e-spec.ts send and judge it.
 *
 * This index re-exports its parts: hostile-corpus-characters.ts (the character corpus),
 * hostile-corpus-event-values.ts (limits, attribute values and `data` documents),
 * hostile-corpus-kafka.ts (headers, extensions and timestamps of the Kafka record),
 * hostile-corpus-events.ts (the event cases) and hostile-corpus-endpoints.ts (the endpoint cases).
 */
export { CONTROL_CHARACTERS } from './hostile-corpus-characters';
export { MAX_BODY_BYTES, MAX_EVENT_BYTES, type Reason } from './hostile-corpus-event-values';
export {
  BASE_TIME,
  buildEventCorpus,
  type CorpusWorld,
  type Edge,
  type EventCase,
  type Group,
  type KafkaMessage,
} from './hostile-corpus-events';
export { buildEndpointCorpus, type EndpointCase, type EndpointField } from './hostile-corpus-endpoints';
