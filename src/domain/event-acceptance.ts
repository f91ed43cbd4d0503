import type { SchemaRejection } from './catalogue-schemas';
import {
  deliveredData,
  parseCloudEvent,
  timestampToIso,
  type ParseResult,
  type PlatformEvent,
} from './cloud-event';
import type { DeadLetterReason } from './dead-letter';
import type { MarkCheck } from './notification-mark';
import type { ConsumedRecord } from './records';
import { tenantAllowedOnTopic, type TopicTenants } from './topic-tenants';

/**
 * What the fan-out takes from an input topic, and so what a window replay may deliver again: one
 * set of rules for both, so a replay never delivers an event the fan-out refused (README decision
 * 100). The fan-out dead-letters a refusal under its reason; a replay skips it.
 */

/** The settings and the catalogue the rules read; the catalogue is asked per event (it changes). */
export interface AcceptanceRules {
  readonly maxEventBytes: number;
  readonly inputTopicTenants: TopicTenants | null;
  /** The catalogue's verdict on a type's data: null when it passes or the type is not catalogued. */
  readonly checkSchema: (type: string, data: unknown) => SchemaRejection | null;
}

export type Acceptance =
  /** `data`: the event's data as every delivery of it carries it (null without data). */
  { ok: true; data: Buffer | null } | { ok: false; reason: DeadLetterReason; detail: string };

/**
 * The record's event as the fan-out parses it: the header bytes, not the text, so a ce_* header
 * that is not UTF-8 is refused rather than read with U+FFFD.
 */
export function parseRecordEvent(record: ConsumedRecord, maxEventBytes: number): ParseResult {
  return parseCloudEvent(
    record.value,
    record.rawHeaders ?? record.headers,
    maxEventBytes,
    timestampToIso(record.timestampMs),
  );
}

/**
 * A record key names the event's tenant: its canonical (lower-case) id, exactly. The API writes the
 * endpoint-change markers under that key; a key in other letter case hashes to another partition,
 * where the events would lose the markers' order (README decision 31).
 */
export function keyNamesTenant(key: string | null, tenantId: string): boolean {
  return key === tenantId;
}

/**
 * The rules after the event's mark (`mark`, not refused) and its tenant's existence were checked, in
 * the fan-out's order: the key, the topic's tenants, the catalogue schema (not for Hookstream's own
 * notifications: the catalogue does not describe them), the delivered size.
 */
export function acceptTenantEvent(
  record: ConsumedRecord,
  event: PlatformEvent,
  mark: MarkCheck,
  rules: AcceptanceRules,
): Acceptance {
  // Producers key by tenant id (docs/publishing-events.md); the partition and every consumer's view
  // of whose event this is must agree. It authenticates nothing: the producer chooses both.
  if (!keyNamesTenant(record.key, event.tenantId)) {
    return {
      ok: false,
      reason: 'tenant_key_mismatch',
      detail: `record key ${JSON.stringify((record.key ?? '').slice(0, 64))} is not the event's tenantid ${event.tenantId}: the key must be the tenantid in lower case`,
    };
  }
  // The topic's ACL names the one principal that may write it; this list names the tenants that
  // principal may speak for (docs/security.md, "Tenants and principals").
  if (!tenantAllowedOnTopic(rules.inputTopicTenants, record.topic, event.tenantId)) {
    return {
      ok: false,
      reason: 'tenant_not_allowed_on_topic',
      detail: `tenant ${event.tenantId} is not allowed on topic ${record.topic} (HOOKSTREAM_INPUT_TOPIC_TENANTS)`,
    };
  }
  // An entry under the reserved prefix (made before it was refused) must not refuse every notification.
  const rejection = mark.kind === 'not-reserved' ? rules.checkSchema(event.type, event.data) : null;
  if (rejection !== null) return { ok: false, reason: 'schema_mismatch', detail: rejection.detail };
  const data = deliveredData(event, rules.maxEventBytes);
  if (!data.ok) return { ok: false, reason: data.reason, detail: data.detail };
  return { ok: true, data: data.bytes };
}
