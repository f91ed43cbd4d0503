/**
 * The values of the CloudEvent itself: the contract's limits and refusal reasons, the verdicts, every
 * value of each attribute (id, type, source, subject, time) and the good and bad `data` documents.
 */
import {
  CONTROL_CHARACTERS,
  INVALID_UTF8,
  MARKS,
  SURROGATES,
  WHITESPACE_ONLY,
  codePoint,
  utf8,
} from './hostile-corpus-characters';

export const MAX_EVENT_BYTES = 256 * 1024;
export const MAX_BODY_BYTES = 1024 * 1024;
const MAX_CHARS = 256;
const MAX_DEPTH = 64;

export type Reason =
  | 'invalid_attribute'
  | 'missing_attribute'
  | 'invalid_json'
  | 'too_large'
  | 'unsupported_specversion'
  | 'unsupported_content_type'
  | 'unknown_tenant'
  | 'tenant_key_mismatch';

/** Good (delivered, the raw body keeping `escapes`) or bad (400 / dead letter with one of `reasons`). */
export interface Verdict {
  good: boolean;
  reasons: Reason[];
  escapes?: readonly string[];
}
/** One value of one attribute and its verdict. */
interface AttributeValue extends Verdict {
  label: string;
  value: unknown;
}
export const good = (label: string, value: unknown): AttributeValue => ({
  label,
  value,
  good: true,
  reasons: [],
});
export const bad = (
  label: string,
  value: unknown,
  reasons: Reason[] = ['invalid_attribute'],
): AttributeValue => ({
  label,
  value,
  good: false,
  reasons,
});
const controlsIn = (prefix: string) =>
  CONTROL_CHARACTERS.map((c) => bad(`control ${codePoint(c)}`, `${prefix}${c}x`));
const surrogatesIn = (prefix: string) => SURROGATES.map(([label, s]) => bad(label, `${prefix}${s}`));
const NOT_STRINGS = [bad('a number', 42), bad('an object', {}), bad('an array', ['x']), bad('true', true)];
const VISIBLE_ASCII = Array.from({ length: 94 }, (_, i) => String.fromCharCode(0x21 + i)).join('');
const TYPE_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-';

type AttributeName = 'id' | 'type' | 'source' | 'subject' | 'time';

/** Values of one attribute; `unique` and `edgeIndex` keep good ids apart (the fan-out drops repeats). */
export function attributeValues(name: AttributeName, unique: string, edgeIndex: number): AttributeValue[] {
  if (name === 'id') {
    return [
      good('one character', '!#$'[edgeIndex]),
      good(
        'every visible ASCII character',
        VISIBLE_ASCII.slice(edgeIndex) + VISIBLE_ASCII.slice(0, edgeIndex),
      ),
      good('256 characters', unique + '~'.repeat(MAX_CHARS - unique.length)),
      good('quotes, backslash and angle brackets', `${unique}"\\'<>&%{}`),
      bad('empty', ''),
      bad('one space', ' '),
      bad('an inner space', `${unique} x`),
      bad('257 characters', unique + '~'.repeat(MAX_CHARS + 1 - unique.length)),
      ...controlsIn(unique),
      ...surrogatesIn(unique),
      ...MARKS.map(([label, s]) => bad(label, unique + s)),
      bad('no-break space', `${unique}\u00a0`),
      bad('e acute', `${unique}é`),
      ...NOT_STRINGS,
    ];
  }
  if (name === 'type') {
    return [
      good('one character', 'a'),
      good('every allowed character', TYPE_CHARS),
      good('256 characters', TYPE_CHARS.repeat(4).slice(0, MAX_CHARS)),
      good('dots only', '...'),
      bad('empty', ''),
      bad('one space', ' '),
      bad('an inner space', 'a b'),
      bad('257 characters', 'a'.repeat(MAX_CHARS + 1)),
      ...controlsIn('a'),
      ...surrogatesIn('a'),
      bad('e acute', 'é'),
      bad('emoji', 'a😀'),
      bad('zero-width space', 'a\u200bb'),
      bad('slash', 'a/b'),
      bad('star', 'a.*'),
      ...NOT_STRINGS,
    ];
  }
  if (name === 'time') {
    return [
      good('the epoch', '1970-01-01T00:00:00Z'),
      good('year 0000', '0000-01-01T00:00:00Z'),
      good('the last millisecond of 9999', '9999-12-31T23:59:59.999Z'),
      good('an offset of +14:00', '2024-02-29T12:00:00+14:00'),
      good('a leap second', '2016-12-31T23:59:60Z'),
      good('lower-case t and z', '2025-01-01t00:00:00z'),
      good('nanoseconds', '2025-01-01T00:00:00.123456789Z'),
      good('offset -00:00', '2025-01-01T00:00:00-00:00'),
      ...[
        ['empty', ''],
        ['one space', ' '],
        ['year 10000', '10000-01-01T00:00:00Z'],
        ['expanded year +010000', '+010000-01-01T00:00:00Z'],
        ['negative year', '-000001-01-01T00:00:00Z'],
        ['29 February of a common year', '2025-02-29T00:00:00Z'],
        ['month 13', '2025-13-01T00:00:00Z'],
        ['hour 24', '2025-01-01T24:00:00Z'],
        ['offset +24:00', '2025-01-01T00:00:00+24:00'],
        ['no offset', '2025-01-01T00:00:00'],
        ['a date only', '2025-01-01'],
        ['a trailing space', '2025-01-01T00:00:00Z '],
        ['a trailing NUL', '2025-01-01T00:00:00Z\u0000'],
        ['a control inside', '2025-01-01T00:\u000100:00Z'],
        ['a word', 'now'],
        ['epoch milliseconds as text', '1735689600000'],
      ].map(([label, value]) => bad(label, value)),
      bad('epoch milliseconds', 1735689600000),
    ];
  }
  return [
    good('one character', '/'),
    ...[...WHITESPACE_ONLY, ...MARKS].map(([label, s]) => good(label, s)),
    good('256 two-byte characters', 'é'.repeat(MAX_CHARS)),
    good('128 emoji (256 UTF-16 units)', '😀'.repeat(MAX_CHARS / 2)),
    good('an IRI', 'https://例え.jp/パス?q=1#f'),
    bad('empty', ''),
    bad('257 characters', 'x'.repeat(MAX_CHARS + 1)),
    bad('257 two-byte characters', 'é'.repeat(MAX_CHARS + 1)),
    ...controlsIn('/s'),
    ...surrogatesIn('/s'),
    ...NOT_STRINGS,
  ];
}

export const nestedArrays = (depth: number) => `${'['.repeat(depth)}1${']'.repeat(depth)}`;
const nestedObjects = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
const nestedMixed = (depth: number) => {
  const open = Array.from({ length: depth }, (_, i) => (i % 2 ? '[' : '{"k":'));
  return `${open.join('')}null${open
    .map((o) => (o === '[' ? ']' : '}'))
    .reverse()
    .join('')}`;
};

/** Good `data` as JSON text [label, text, escapes the raw webhook body must keep]. */
export const GOOD_DATA: ReadonlyArray<[string, string, string[]?]> = [
  ['every control character', JSON.stringify(CONTROL_CHARACTERS.join('')), ['\\u0000', '\\u001f']],
  ['a NUL escape, as value and key', '{"\\u0000":"\\u0000","a\\u0000b":["\\u0000"]}', ['\\u0000']],
  [
    'unpaired surrogate escapes',
    '["\\ud800","\\uDBFF","\\udc00","a\\uDFFFb","\\ude00\\ud83d"]',
    ['\\ud800', '\\udbff', '\\udc00', '\\udfff', '\\ude00\\ud83d'],
  ],
  ['an unpaired surrogate as a key', '{"\\ud800":"\\udc00"}', ['\\ud800', '\\udc00']],
  ['a surrogate pair as escapes', '"\\ud83d\\ude00"'],
  ['bidi, zero-width, separators, C1 and emoji', JSON.stringify(MARKS.map(([, s]) => s))],
  [
    'numbers at the edges of the double range',
    '[0,-0,1.7976931348623157e308,-1.7976931348623157e308,5e-324,1e-400,9007199254740993,1E+2]',
  ],
  [
    'dates past every range, as strings',
    '["+275760-09-13T00:00:00.000Z","-271821-04-20T00:00:00Z","2025-02-30"]',
  ],
  [
    'empty and whitespace-only values',
    '{"":"","s":" ","t":"\\t","w":"\\u3000","o":{},"a":[],"n":null,"f":false}',
  ],
  ['null', 'null'],
  ['an empty string', '""'],
  ['prototype keys', '{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}},"toString":"no"}'],
  ['integer-like keys out of order', '{"b":1,"2":2,"1":3,"-1":4}'],
  [`${MAX_DEPTH} levels of arrays (the limit)`, nestedArrays(MAX_DEPTH)],
  [`${MAX_DEPTH} levels of objects and arrays (the limit)`, nestedMixed(MAX_DEPTH)],
  ['10,000 array elements', JSON.stringify(Array.from({ length: 10_000 }, (_, i) => i))],
];

const DEEP: Reason[] = ['invalid_attribute', 'invalid_json', 'too_large'];
const jsonString = (inner: Buffer) => Buffer.concat([utf8('"x'), inner, utf8('y"')]);
/** Bad `data` as bytes [label, bytes, whether a 400 must name `data` (the body is valid JSON), reasons]. */
export const BAD_DATA: ReadonlyArray<[string, Buffer, boolean, Reason[]]> = [
  [`${MAX_DEPTH + 1} levels of arrays`, utf8(nestedArrays(MAX_DEPTH + 1)), true, DEEP],
  [`${MAX_DEPTH + 1} levels of objects`, utf8(nestedObjects(MAX_DEPTH + 1)), true, DEEP],
  ['100,000 levels of arrays', utf8(nestedArrays(100_000)), true, DEEP],
  ...INVALID_UTF8.map(([label, bytes]): [string, Buffer, boolean, Reason[]] => [
    `a string holding ${label}`,
    jsonString(bytes),
    false,
    ['invalid_json'],
  ]),
  // JSON.parse reads these as ±Infinity, which JSON.stringify writes as null: delivered, they would
  // arrive as [null,null], other data than was sent. The contract refuses them (RFC 7493 I-JSON
  // numbers are doubles): REST 400 naming data, Kafka a dead letter invalid_attribute.
  ['numbers past the double range (1e400, -1e400)', utf8('[1e400,-1e400]'), true, ['invalid_attribute']],
  ['a number past the double range (1e309)', utf8('{"n":1e309}'), true, ['invalid_attribute']],
  ['a raw NUL inside a string', jsonString(Buffer.from([0])), false, ['invalid_json']],
  ['a raw U+001F inside a string', jsonString(Buffer.from([0x1f])), false, ['invalid_json']],
  ['an invalid escape \\x41', utf8('"\\x41"'), false, ['invalid_json']],
  ['a truncated escape \\u12', utf8('"\\u12"'), false, ['invalid_json']],
];
