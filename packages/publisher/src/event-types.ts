/**
 * A platform service declares its events once, as a map from event type to the shape of its
 * `data`; the publisher and the outbox then accept only those types, each with its own data:
 *
 *   interface RecordEvents { 'record.updated': { recordId: string; version: number } }
 *   const publisher = new EventPublisher<RecordEvents>({ ... });
 */
// `object`, not an index signature: an interface, the natural way to declare the map, has none.
export type EventMap = object;

/** One event to publish: type and data from the map, the tenant it belongs to, optional attributes. */
export type EventInput<M extends EventMap, T extends keyof M & string = keyof M & string> = {
  [K in T]: {
    type: K;
    data: M[K];
    /** The tenant's id (a UUID): the Kafka key and the `tenantid` attribute. */
    tenantId: string;
    /** The event id, which becomes the `webhook-id` receivers deduplicate by; generated when absent. */
    id?: string;
    /** Overrides the publisher's `source`. */
    source?: string;
    subject?: string;
    /** RFC 3339; the publish time when absent. */
    time?: string;
  };
}[T];

/** CloudEvents over Kafka: the whole event in the value, or attributes as `ce_*` headers. */
export type ContentMode = 'structured' | 'binary';
