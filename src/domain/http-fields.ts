/**
 * HTTP field (header) names and values as RFC 9110 allows them and undici sends them. Checked
 * before a request is handed to undici: undici refuses a bad one only after taking a connection
 * slot of the origin's pool, and undici 7 did not give the slot back, so 64 such requests left
 * every later request to that origin hanging.
 */

/** A field name: an RFC 9110 token. */
export const FIELD_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/i;
/** A field value: visible ASCII, space, tab and Latin-1 (obs-text); no CR, LF, NUL or other controls. */
export const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const NOT_FIELD_VALUE = /[^\t\x20-\x7e\x80-\xff]/u;
/** Fields undici refuses to send whatever their value (it owns framing and connection reuse). */
const UNSENDABLE = new Set(['transfer-encoding', 'keep-alive', 'upgrade', 'expect']);

/** Why the header cannot be sent, starting `invalid header <name>: `, or null when it can. */
export function invalidHeader(name: string, value: unknown): string | null {
  // Checked on every header of every delivery: the message is built only for a header that fails.
  if (!FIELD_NAME.test(name)) {
    return `invalid header ${JSON.stringify(name.slice(0, 64))}: the name is not an HTTP token (RFC 9110)`;
  }
  if (UNSENDABLE.has(name.toLowerCase()))
    return `invalid header ${name}: the HTTP client sets or refuses this field itself`;
  if (typeof value !== 'string') return `invalid header ${name}: the value is not a string`;
  const bad = NOT_FIELD_VALUE.exec(value);
  if (bad !== null) {
    const codePoint = bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    return `invalid header ${name}: the value holds U+${codePoint}; an HTTP field value may hold only visible ASCII, space, tab and U+0080-U+00FF (RFC 9110)`;
  }
  return null;
}

/** The first reason one of `headers` cannot be sent, or null. */
export function invalidHeaders(headers: Record<string, unknown>): string | null {
  // for...in rather than Object.entries: no array of pairs per delivery.
  for (const name in headers) {
    const problem = invalidHeader(name, headers[name]);
    if (problem !== null) return problem;
  }
  return null;
}
