/** Rules for endpoint fields, as plain functions: the DTO decorators and unit tests both use them. */
import { EVENT_TYPE_PATTERN, MAX_EVENT_TYPE_LENGTH, unstorableText } from '../../domain/event-contract';
import { FIELD_NAME, FIELD_VALUE } from '../../domain/http-fields';

const WILDCARD = '*';
const PREFIX_SUFFIX = '.*';
export const MAX_EVENT_TYPES = 100;
export const MAX_HEADERS = 20;
export const MAX_HEADER_VALUE_LENGTH = 4096;
export const MAX_METADATA_KEYS = 50;
export const MAX_METADATA_VALUE_LENGTH = 1000;
export const MAX_DESCRIPTION_LENGTH = 500;

/** Headers the sender owns: connection management, framing and our own signature headers; `expect`
 *  is one the HTTP client refuses to send. */
const RESERVED_HEADERS = new Set([
  'connection',
  'expect',
  'keep-alive',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'host',
  'content-length',
  'content-type',
]);

export function eventTypeProblems(value: unknown): string[] {
  if (!Array.isArray(value)) return ['eventTypes must be an array of strings'];
  const problems: string[] = [];
  if (value.length === 0) problems.push('eventTypes must not be empty (omit it or use ["*"] for all events)');
  if (value.length > MAX_EVENT_TYPES)
    problems.push(`eventTypes must have at most ${MAX_EVENT_TYPES} entries`);
  for (const entry of value) {
    if (typeof entry !== 'string') {
      problems.push('eventTypes entries must be strings');
    } else if (!isSubscriptionPattern(entry)) {
      problems.push(
        `eventTypes entry "${entry.slice(0, 50)}" must be an exact type like "record.updated" ` +
          `(letters, digits, '_', '.' and '-', at most ${MAX_EVENT_TYPE_LENGTH}), a prefix like "record.*", or "*"`,
      );
    }
  }
  return problems;
}

/**
 * `*`, a type the event contract accepts (so every type that can be published can be named), or
 * such a type followed by `.*`. Empty segments (`a..b`, `.a`) are types like any other, as the
 * contract has them; the pattern stays within the longest type, since a longer prefix matches none.
 */
function isSubscriptionPattern(entry: string): boolean {
  if (entry === WILDCARD) return true;
  if (entry.length > MAX_EVENT_TYPE_LENGTH) return false;
  const type = entry.endsWith(PREFIX_SUFFIX) ? entry.slice(0, -PREFIX_SUFFIX.length) : entry;
  return EVENT_TYPE_PATTERN.test(type);
}

export function headerProblems(value: unknown): string[] {
  if (!isPlainObject(value)) return ['headers must be an object of header name to string value'];
  const entries = Object.entries(value);
  const problems: string[] = [];
  if (entries.length > MAX_HEADERS) problems.push(`headers must have at most ${MAX_HEADERS} entries`);
  for (const [name, headerValue] of entries) {
    const lower = name.toLowerCase();
    if (!FIELD_NAME.test(name)) {
      problems.push(`header name "${name.slice(0, 50)}" is not a valid HTTP header name`);
    } else if (RESERVED_HEADERS.has(lower) || lower.startsWith('proxy-')) {
      problems.push(`header "${name}" is hop-by-hop or set by Hookstream and cannot be overridden`);
    } else if (lower.startsWith('webhook-')) {
      problems.push(`header "${name}" is reserved: webhook-* headers carry the Standard Webhooks signature`);
    }
    if (typeof headerValue !== 'string') {
      problems.push(`header "${name.slice(0, 50)}" value must be a string`);
    } else if (headerValue.length > MAX_HEADER_VALUE_LENGTH || /[\r\n\0]/.test(headerValue)) {
      problems.push(
        `header "${name.slice(0, 50)}" value must be at most ${MAX_HEADER_VALUE_LENGTH} characters without CR, LF or NUL`,
      );
    } else if (!FIELD_VALUE.test(headerValue)) {
      problems.push(
        `header "${name.slice(0, 50)}" value may hold only visible ASCII, spaces, tabs and Latin-1 characters`,
      );
    }
  }
  return problems;
}

export function metadataProblems(value: unknown): string[] {
  if (!isPlainObject(value)) return ['metadata must be an object of string keys to string values'];
  const entries = Object.entries(value);
  const problems: string[] = [];
  if (entries.length > MAX_METADATA_KEYS)
    problems.push(`metadata must have at most ${MAX_METADATA_KEYS} keys`);
  for (const [key, entry] of entries) {
    if (key.length === 0 || key.length > 100) problems.push('metadata keys must be 1 to 100 characters');
    const keyProblem = unstorableText(key);
    if (keyProblem !== null) problems.push(`metadata key "${key.slice(0, 50)}" ${keyProblem}`);
    if (typeof entry !== 'string' || entry.length > MAX_METADATA_VALUE_LENGTH) {
      problems.push(
        `metadata "${key.slice(0, 50)}" must be a string of at most ${MAX_METADATA_VALUE_LENGTH} characters`,
      );
    } else {
      const valueProblem = unstorableText(entry);
      if (valueProblem !== null) problems.push(`metadata "${key.slice(0, 50)}" ${valueProblem}`);
    }
  }
  return problems;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
