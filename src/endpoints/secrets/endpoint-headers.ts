import {
  headersBinding,
  UndecryptableSecretError,
  type SecretCipher,
  type StoredSecret,
} from './secret-cipher';

/** What a read shows instead of a custom header value: the values are write-only. */
export const HEADER_VALUE_MASK = '***';

/** The columns an endpoint's custom headers are stored in. */
export interface SealedHeaderColumns {
  sealedHeaders: StoredSecret | null;
  headerNames: string[];
  legacyHeaders: Record<string, string>;
}

/** Headers as delivery sends them, or why they cannot be read. */
export type ReadHeaders =
  { headers: Record<string, string>; problem: null } | { headers: Record<string, never>; problem: string };

/** The columns for `headers`: encrypted as one JSON object bound to the endpoint, names in clear. */
export function sealHeaders(
  cipher: SecretCipher,
  endpointId: string,
  headers: Record<string, string>,
): SealedHeaderColumns {
  const names = Object.keys(headers).sort();
  return {
    sealedHeaders:
      names.length === 0 ? null : cipher.encrypt(JSON.stringify(headers), headersBinding(endpointId)),
    headerNames: names,
    legacyHeaders: {},
  };
}

/** The names with masked values: what every read of an endpoint shows. */
export function maskedHeaders(names: string[]): Record<string, string> {
  return Object.fromEntries(names.map((name) => [name, HEADER_VALUE_MASK]));
}

/**
 * Decrypts the headers (plaintext legacy ones are read as they are, until sealed). Never throws:
 * headers no configured key reads make the endpoint unusable, as an unreadable secret does, since
 * sending without them would fail the receiver's own authentication.
 */
export function readHeaders(
  cipher: SecretCipher,
  endpointId: string,
  columns: SealedHeaderColumns,
): ReadHeaders {
  if (columns.sealedHeaders === null) return { headers: { ...columns.legacyHeaders }, problem: null };
  try {
    const parsed: unknown = JSON.parse(cipher.decrypt(columns.sealedHeaders, headersBinding(endpointId)));
    if (!isStringMap(parsed)) throw new Error('they decrypt to something that is not a header map');
    return { headers: parsed, problem: null };
  } catch (error) {
    const why =
      error instanceof UndecryptableSecretError
        ? error.message
        : `they do not decrypt (${String(error).slice(0, 200)})`;
    return {
      headers: {},
      problem:
        `its custom headers cannot be read: ${why}; run \`npm run secrets:reencrypt\` with the old key in ` +
        'HOOKSTREAM_SECRET_KEY_PREVIOUS, or set the headers again with PATCH',
    };
  }
}

/**
 * PATCH semantics of `headers` (write-only values): the map replaces the set of names; a name whose
 * value is the mask keeps its stored value, so a client can send back what it read with one value
 * changed. A mask for a name without a stored value is refused (null is returned with that name).
 */
export function mergeHeaderUpdate(
  stored: Record<string, string>,
  update: Record<string, string>,
): { headers: Record<string, string> } | { unknownMasked: string } {
  // Entries, not assignments: `headers['__proto__'] = value` would set no header at all.
  const headers: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(update)) {
    if (value !== HEADER_VALUE_MASK) {
      headers.push([name, value]);
      continue;
    }
    const kept = storedValue(stored, name);
    if (kept === undefined) return { unknownMasked: name };
    headers.push([name, kept]);
  }
  return { headers: Object.fromEntries(headers) };
}

/** Header names are case-insensitive: a mask under another spelling still keeps the stored value. */
function storedValue(stored: Record<string, string>, name: string): string | undefined {
  if (Object.hasOwn(stored, name)) return stored[name];
  const match = Object.keys(stored).find((key) => key.toLowerCase() === name.toLowerCase());
  return match === undefined ? undefined : stored[match];
}

function isStringMap(value: unknown): value is Record<string, string> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((entry) => typeof entry === 'string')
  );
}
