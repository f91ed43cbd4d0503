/** The body parser's error `type` for a JSON body that is not UTF-8 (answered 400). */
export const INVALID_UTF8_BODY = 'entity.utf8.invalid';
const PLAIN_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Offset of the first byte that does not start a well-formed UTF-8 sequence (Unicode 15, table
 * 3-7: no overlong forms, surrogates or code points past U+10FFFF), or -1 when all are well formed.
 */
export function invalidUtf8Offset(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length;) {
    const lead = bytes[i];
    if (lead < 0x80) {
      i += 1;
      continue;
    }
    let length: number;
    let low = 0x80;
    let high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) length = 2;
    else if (lead === 0xe0) [length, low] = [3, 0xa0];
    else if (lead === 0xed) [length, high] = [3, 0x9f];
    else if (lead >= 0xe1 && lead <= 0xef) length = 3;
    else if (lead === 0xf0) [length, low] = [4, 0x90];
    else if (lead === 0xf4) [length, high] = [4, 0x8f];
    else if (lead >= 0xf1 && lead <= 0xf3) length = 4;
    else return i;
    for (let k = 1; k < length; k++) {
      const next = bytes[i + k];
      const [min, max] = k === 1 ? [low, high] : [0x80, 0xbf];
      if (next === undefined || next < min || next > max) return i;
    }
    i += length;
  }
  return -1;
}

/**
 * The name of the member of a top-level JSON object that byte `offset` lies in (its key or its
 * value), shown as JSON when it is not a plain word; null when the body is not an object or the
 * offset is outside every member. A scan of the bytes, since they cannot be parsed as they are.
 */
export function topLevelFieldAt(json: Uint8Array, offset: number): string | null {
  let depth = 0;
  let inString = false;
  let escaped = false;
  let expectKey = false;
  let keyStart = -1;
  let key: [number, number] | null = null;
  for (let i = 0; i < json.length && i <= offset; i++) {
    const byte = json[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (byte === 0x5c) escaped = true;
      else if (byte === 0x22) {
        inString = false;
        if (keyStart >= 0) {
          key = [keyStart, i];
          keyStart = -1;
        }
      }
      continue;
    }
    if (byte === 0x22) {
      inString = true;
      if (depth === 1 && expectKey) {
        keyStart = i + 1;
        expectKey = false;
      }
    } else if (byte === 0x7b || byte === 0x5b) {
      depth += 1;
      if (depth === 1) expectKey = byte === 0x7b;
    } else if (byte === 0x7d || byte === 0x5d) {
      depth -= 1;
    } else if (byte === 0x2c && depth === 1) {
      expectKey = true;
      key = null;
    }
  }
  if (keyStart >= 0) key = [keyStart, stringEnd(json, offset)];
  if (key === null || depth < 1) return null;
  const name = Buffer.from(json.subarray(key[0], key[1])).toString('utf8');
  return PLAIN_NAME.test(name) ? name : JSON.stringify(name.slice(0, 64));
}

/** Offset of the quote that closes the JSON string `from` lies in (or the end of the bytes). */
function stringEnd(json: Uint8Array, from: number): number {
  for (let i = from; i < json.length; i++) {
    if (json[i] === 0x5c) i += 1;
    else if (json[i] === 0x22) return i;
  }
  return json.length;
}
