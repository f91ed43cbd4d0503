import { HEADER } from './delivery-task';
import type { ConsumedRecord, OutgoingRecord } from './records';

/**
 * A marker the REST API writes into the input topic, under the tenant's key (so into the partition
 * its events go to), each time it changes one of the tenant's endpoints. The fan-out refreshes the
 * endpoint when it reads the marker, before any event published after the change: an event
 * published the moment an endpoint was created is matched on every replica, however late the
 * replica's LISTEN/NOTIFY is (README decision 31).
 */
export const ENDPOINT_CHANGED = 'endpoint-changed';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function endpointChangeMarker(tenantId: string, endpointId: string): OutgoingRecord {
  return {
    key: tenantId,
    value: JSON.stringify({ endpointId }),
    headers: { [HEADER.control]: ENDPOINT_CHANGED },
  };
}

export type MarkerRead =
  { kind: 'not-a-marker' } | { kind: 'marker'; endpointId: string } | { kind: 'invalid'; detail: string };

/** Whether `record` is a marker, and which endpoint it names. */
export function readEndpointChangeMarker(record: ConsumedRecord): MarkerRead {
  const control = record.headers[HEADER.control];
  if (control === undefined) return { kind: 'not-a-marker' };
  if (control !== ENDPOINT_CHANGED)
    return { kind: 'invalid', detail: `unknown ${HEADER.control} "${control.slice(0, 64)}"` };
  try {
    const { endpointId } = JSON.parse(record.value?.toString('utf8') ?? '') as { endpointId?: unknown };
    if (typeof endpointId === 'string' && UUID.test(endpointId)) return { kind: 'marker', endpointId };
  } catch {
    // Falls through: not the marker's shape.
  }
  return { kind: 'invalid', detail: 'endpoint-changed marker without a valid endpointId' };
}
