/**
 * The input contract for platform events, one module for every edge that accepts them: the
 * CloudEvents parser of the input topic (cloud-event.ts) and the REST DTO of `POST /v1/events`
 * apply the same rules, so an event one edge accepts the other accepts too. Each rule exists
 * because of where the value ends up: the id becomes the `webhook-id` HTTP header, text ends up in
 * PostgreSQL `text` and `jsonb` columns, which refuse NUL and unpaired surrogates.
 */

export const MAX_ATTRIBUTE_LENGTH = 256;
/** JSON.parse accepts any nesting, but JSON.stringify overflows the stack well before 200k levels. */
export const MAX_DATA_DEPTH = 64;
/**
 * JSON.parse reads a number past the double range (`1e400`) as Infinity, which JSON.stringify
 * writes as null: the receiver would get other data than the client sent, so it is refused.
 */
export const OUT_OF_DOUBLE_RANGE = 'holds a number outside the range of a double (RFC 7493 I-JSON)';

/** `id`: visible ASCII, since it is sent as the `webhook-id` header and signed as bytes. */
export const EVENT_ID_PATTERN = /^[\x21-\x7e]{1,256}$/;
/** `tenantid`: tenants are UUIDs (any case, RFC 4122); anything else can only be an unknown tenant. */
export const TENANT_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The longest `type`: events, the catalogue and endpoint subscriptions all take it. */
export const MAX_EVENT_TYPE_LENGTH = 256;
/** `type`: what endpoints subscribe to with patterns like `record.*`. */
export const EVENT_TYPE_PATTERN = new RegExp(`^[A-Za-z0-9_.-]{1,${MAX_EVENT_TYPE_LENGTH}}$`);

// Matching control characters is the point of this pattern.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

/** Why `value` cannot be stored or sent as text, or null: NUL (no PostgreSQL text holds it), a lone surrogate. */
export function unstorableText(value: string): string | null {
  if (value.includes('\u0000')) return 'contains a NUL character';
  if (!value.isWellFormed()) return 'contains an unpaired surrogate (not valid Unicode)';
  return null;
}

/** Why `value` is not a one-line text attribute (`source`, `subject`), or null. */
export function attributeTextProblem(value: string): string | null {
  if (value.length === 0) return 'must not be empty';
  if (value.length > MAX_ATTRIBUTE_LENGTH) return `must be at most ${MAX_ATTRIBUTE_LENGTH} characters`;
  if (CONTROL_CHARACTER.test(value)) return 'must not contain control characters';
  return unstorableText(value);
}

/** The rule of each string attribute, as the message both edges give. */
export const ATTRIBUTE_RULES = {
  id: 'must be 1 to 256 visible ASCII characters (it becomes the webhook-id header)',
  type: "may contain only letters, digits, '_', '.' and '-' (1 to 256)",
  time: 'must be an RFC 3339 date-time with an offset, in years 0000 to 9999 (like 2025-06-01T12:00:00Z)',
} as const;

/**
 * Why a parsed JSON value cannot be carried as it is, or null: nested deeper than `maxDepth`
 * (the value itself is level 1), or holding a number JSON.parse could not represent (unless
 * `numbers` is false: depth only). One iterative walk, which the depth check made on every event
 * already, so a hostile nesting cannot overflow the stack and the number check costs one typeof
 * per value.
 */
export function jsonValueProblem(value: unknown, maxDepth: number, numbers = true): string | null {
  if (typeof value === 'number') return !numbers || Number.isFinite(value) ? null : OUT_OF_DOUBLE_RANGE;
  if (typeof value !== 'object' || value === null) return null;
  const nodes: object[] = [value];
  const depths: number[] = [1];
  for (let node = nodes.pop(); node !== undefined; node = nodes.pop()) {
    const depth = depths.pop()!;
    if (depth > maxDepth) return `is nested deeper than ${maxDepth} levels`;
    const children: unknown[] = Array.isArray(node) ? node : Object.values(node as Record<string, unknown>);
    for (const child of children) {
      if (typeof child === 'object') {
        if (child !== null) {
          nodes.push(child);
          depths.push(depth + 1);
        }
      } else if (numbers && typeof child === 'number' && !Number.isFinite(child)) {
        return OUT_OF_DOUBLE_RANGE;
      }
    }
  }
  return null;
}
