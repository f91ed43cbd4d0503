/**
 * What `NODE_ENV=production` refuses at boot (issue 19): values published in this repository
 * (docker-compose.yml, scripts/demo.sh), a short or low-variety admin or ops token (current or
 * previous: each admits requests), and an encryption key
 * that is not key-shaped (a passphrase). Previous keys are not checked, since a demo or passphrase
 * key is retired by putting it there and running `npm run secrets:reencrypt`: they sign nothing and
 * admit no portal link; they only decrypt endpoint secrets and verify the MACs of delivery tasks
 * sealed before the rotation (forging one of those also needs write access to Hookstream's topics).
 */
export const KNOWN_DEMO_VALUES: readonly string[] = [
  'demo-admin-token-change-me',
  'demo-secret-key-change-me-0123456789abcdef',
];

const MIN_TOKEN_CHARS = 32;
const MIN_DISTINCT_CHARS = 12;
const KEY_BYTES = 32;
const HINT = '(NODE_ENV=production; generate one with `openssl rand -base64 32`)';

/** What production refuses of an operator token (the admin or ops token, or a previous one). */
export function productionTokenProblems(name: string, token: string): string[] {
  if (KNOWN_DEMO_VALUES.includes(token)) return [`${name}: is the published demo value ${HINT}`];
  if (token.length < MIN_TOKEN_CHARS || distinct(token) < MIN_DISTINCT_CHARS) {
    return [
      `${name}: too weak: at least ${MIN_TOKEN_CHARS} characters, ${MIN_DISTINCT_CHARS} of them different ${HINT}`,
    ];
  }
  return [];
}

export function secretKeyProblems(secretKey: string | undefined): string[] {
  if (secretKey === undefined) return [];
  if (KNOWN_DEMO_VALUES.includes(secretKey))
    return [`HOOKSTREAM_SECRET_KEY: is the published demo value ${HINT}`];
  if (isKeyShaped(secretKey)) return [];
  return [
    `HOOKSTREAM_SECRET_KEY: must be ${KEY_BYTES} or more random bytes in base64 or hex, not a ` +
      `passphrase ${HINT}; keep an old key in HOOKSTREAM_SECRET_KEY_PREVIOUS and run ` +
      '`npm run secrets:reencrypt` to retire it',
  ];
}

/** Base64 (standard or URL-safe) or hex of at least 32 bytes that are not a repeated pattern. */
export function isKeyShaped(key: string): boolean {
  let bytes: Buffer | null = null;
  if (/^[0-9a-fA-F]+$/.test(key) && key.length % 2 === 0) bytes = Buffer.from(key, 'hex');
  else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(key)) bytes = Buffer.from(key, 'base64');
  return bytes !== null && bytes.length >= KEY_BYTES && new Set(bytes).size >= KEY_BYTES / 2;
}

function distinct(text: string): number {
  return new Set(text).size;
}
