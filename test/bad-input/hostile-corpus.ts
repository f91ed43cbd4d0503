import type { IHeaders } from 'kafkajs';
import type { SeededRandom } from '../support/seeded-random';

/**
 * The hostile-input corpus of issue 15: for every field reachable from REST and from Kafka, values
 * built to break parsers, PostgreSQL, HTTP headers and JSON round trips, each labelled with what
 * the contract says must become of it. Pure data; hostile-input*.e2e-spec.ts send and judge it.
 */

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

const utf8 = (text: string) => Buffer.from(text, 'utf8');
const codePoint = (c: string) => `U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;

/** U+0000-U+001F and U+007F: the control characters of the contract. */
export const CONTROL_CHARACTERS: readonly string[] = [
  ...Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)),
  '\u007f',
];
const SURROGATES: ReadonlyArray<[string, string]> = [
  ['lone high surrogate U+D800', '\ud800'],
  ['lone high surrogate U+DBFF at the end', 'x\udbff'],
  ['lone low surrogate U+DC00', '\udc00'],
  ['lone low surrogate U+DFFF before a letter', '\udfffx'],
  ['surrogate pair reversed', '\ude00\ud83d'],
];
const INVALID_UTF8: ReadonlyArray<[string, Buffer]> = [
  ['byte 0xFF', Buffer.from([0xff])],
  ['overlong NUL 0xC0 0x80', Buffer.from([0xc0, 0x80])],
  ['encoded surrogate 0xED 0xA0 0x80', Buffer.from([0xed, 0xa0, 0x80])],
  ['truncated sequence 0xE2 0x82', Buffer.from([0xe2, 0x82])],
  ['lone continuation byte 0x80', Buffer.from([0x80])],
  ['past U+10FFFF 0xF4 0x90 0x80 0x80', Buffer.from([0xf4, 0x90, 0x80, 0x80])],
];
const WHITESPACE_ONLY: ReadonlyArray<[string, string]> = [
  ['whitespace only: one space', ' '],
  ['whitespace only: four spaces', '    '],
  ['whitespace only: no-break space', '\u00a0'],
  ['whitespace only: ideographic space', '\u3000'],
];
/** Printable but treacherous: bidi and zero-width marks, separators, noncharacters, C1, emoji. */
const MARKS: ReadonlyArray<[string, string]> = [
  ['right-to-left override', '\u202eevil\u202c'],
  ['zero-width space and joiner', 'a\u200bb\u200dc'],
  ['byte order mark', '\ufeffx'],
  ['line and paragraph separators', 'a\u2028b\u2029c'],
  ['noncharacters U+FFFE U+FFFF', '\ufffe\uffff'],
  ['C1 controls U+0080 U+0085 U+009F', '\u0080\u0085\u009f'],
  ['emoji with ZWJ sequences and a flag', '👩‍👩‍👧‍👦🏳️‍🌈🇺🇸'],
  ['combining marks', 'Z\u0337\u0322a\u0335l\u0336g\u0338o'],
];

/** Good (delivered, the raw body keeping `escapes`) or bad (400 / dead letter with one of `reasons`). */
interface Verdict {
  good: boolean;
  reasons: Reason[];
  escapes?: readonly string[];
}
/** One value of one attribute and its verdict. */
interface AttributeValue extends Verdict {
  label: string;
  value: unknown;
}
const good = (label: string, value: unknown): AttributeValue => ({ label, value, good: true, reasons: [] });
const bad = (label: string, value: unknown, reasons: Reason[] = ['invalid_attribute']): AttributeValue => ({
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
function attributeValues(name: AttributeName, unique: string, edgeIndex: number): AttributeValue[] {
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

const nestedArrays = (depth: number) => `${'['.repeat(depth)}1${']'.repeat(depth)}`;
const nestedObjects = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
const nestedMixed = (depth: number) => {
  const open = Array.from({ length: depth }, (_, i) => (i % 2 ? '[' : '{"k":'));
  return `${open.join('')}null${open
    .map((o) => (o === '[' ? ']' : '}'))
    .reverse()
    .join('')}`;
};

/** Good `data` as JSON text [label, text, escapes the raw webhook body must keep]. */
const GOOD_DATA: ReadonlyArray<[string, string, string[]?]> = [
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
const BAD_DATA: ReadonlyArray<[string, Buffer, boolean, Reason[]]> = [
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

/** Kafka headers on a structured-mode event: none of them may stop its delivery. */
function hostileHeaders(): Array<[string, IHeaders]> {
  const many = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`x-h${i}`, `v${i}`]));
  return [
    ['a value of invalid UTF-8', { 'x-bytes': Buffer.from([0xff, 0xc0, 0x80, 0xed, 0xa0, 0x80]) }],
    ['a 64 KiB value', { 'x-long': 'v'.repeat(64 * 1024) }],
    ['500 headers', many],
    ['an empty name', { '': 'v' }],
    ['names with NUL, CR LF and emoji', { '\u0000': 'v', 'x\r\ny': 'v', 'ü😀': 'v' }],
    ['a value with every control character', { 'x-ctl': CONTROL_CHARACTERS.join('') }],
    ['a repeated header', { 'x-rep': ['a', Buffer.from([0xff]), ''] }],
    [
      "Hookstream's own header names",
      {
        'hs-reason': 'attempts_exhausted',
        'hs-origin': 'elsewhere/0/0',
        'hs-attempt': '99',
        'hs-due-at': '9'.repeat(15),
      },
    ],
    [
      'ce_ headers, ignored in structured mode',
      { ce_id: 'x\u0000y', ce_specversion: '0.3', ce_type: 'bad type' },
    ],
  ];
}

/** Extension attributes of structured events (raw JSON members): ignored, whatever they hold. */
const EXTENSIONS: ReadonlyArray<[string, string]> = [
  ['every control character', `"ctlext":${JSON.stringify(CONTROL_CHARACTERS.join(''))}`],
  ['an unpaired surrogate', '"surrogateext":"\\ud800"'],
  ['1,000 levels of nesting', `"deepext":${nestedArrays(1000)}`],
  ['a number past the double range', '"bigext":1e400'],
  ['empty, NUL and non-ASCII names', '"":"e","\\u0000":"n","ÜNÎ😀":"u"'],
  ['__proto__ carrying attributes', '"__proto__":{"id":"evil","tenantid":"x","type":"evil type"}'],
  ['upper-case attribute names', '"ID":"\\u0000","TYPE":"bad type","TENANTID":"nobody"'],
  ['a 100 KiB string', `"longext":"${'l'.repeat(100 * 1024)}"`],
];

/** Binary-mode extension headers: ignored, whatever they hold. */
const BINARY_EXTENSIONS: ReadonlyArray<[string, IHeaders]> = [
  ['control bytes', { ce_ctlext: CONTROL_CHARACTERS.join('') }],
  ['invalid UTF-8', { ce_bytesext: Buffer.from([0xff, 0xed, 0xa0, 0x80]) }],
  ['a 64 KiB value', { ce_longext: 'l'.repeat(64 * 1024) }],
  ['300 extension headers', Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`ce_x${i}`, `v${i}`]))],
  ['an empty extension name', { ce_: 'v' }],
];

/**
 * Kafka timestamps the broker accepts (on a topic allowing far-future ones). An event with its own
 * `time` is delivered whatever the timestamp; one without is delivered only when the timestamp is
 * a date in years 0000-9999 (`null`: -1 means "no timestamp" to Kafka, so either outcome is defensible).
 */
const TIMESTAMPS: ReadonlyArray<[string, string, boolean | null]> = [
  ['0', '0', true],
  ['-1 (no timestamp)', '-1', null],
  ['-5', '-5', null],
  ['the last millisecond of 9999', '253402300799999', true],
  ['the first millisecond of 10000', '253402300800000', false],
  ['the largest JavaScript date', '8640000000000000', false],
  ['one past the largest JavaScript date', '8640000000000001', false],
  ['9,999,999,999,999,999', '9999999999999999', false],
  ['999,999,999,999,999,999', '999999999999999999', false],
  ['the maximum of int64', '9223372036854775807', false],
  ['one before the smallest JavaScript date', '-8640000000000001', false],
  ['the minimum of int64', '-9223372036854775808', false],
];

// --- event cases -------------------------------------------------------------------------------

export type Edge = 'rest' | 'structured' | 'binary';
const EDGES: readonly Edge[] = ['rest', 'structured', 'binary'];
export type Group = 'attributes' | 'data' | 'envelope' | 'timestamps';

export interface KafkaMessage {
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers?: IHeaders;
  timestamp?: string;
}

export interface EventCase {
  group: Group;
  edge: Edge;
  label: string;
  /** POST /v1/events body (bytes that may not be UTF-8). */
  rest?: Buffer;
  kafka?: KafkaMessage;
  /** A good event: answered 202, and its webhook body carries `id` and this `data` (parsed). */
  deliver?: { id: string; data: unknown; escapes: string[] };
  /**
   * Bad input: REST answers 400 naming `field` (without one: a body that cannot be decoded, any 400;
   * `too_large`, 400 or 413); Kafka dead-letters it with one of `reasons`.
   */
  refuse?: { field?: string; reasons: Reason[] };
  /** The event id it carries, to tell what became of bad input that was let through. */
  probeId?: string;
}

export const BASE_TIME = '2025-06-01T12:00:00.000Z';

/** `fields` as JSON with `data` (raw JSON bytes) spliced in, which JSON.stringify cannot write. */
function withData(fields: Record<string, unknown>, data: string | Buffer): Buffer {
  return Buffer.concat([
    utf8(`${JSON.stringify(fields).slice(0, -1)},"data":`),
    Buffer.from(data),
    utf8('}'),
  ]);
}

const wellFormed = (s: string) =>
  !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);

/** The event on one edge, or null when that edge cannot carry its attributes (binary: strings only). */
function onEdge(
  edge: Edge,
  tenantId: string,
  attributes: Record<string, unknown>,
  data: string | Buffer,
  envelope: Partial<KafkaMessage> = {},
): Pick<EventCase, 'rest' | 'kafka'> | null {
  const { id, type, source, subject, time } = attributes;
  if (edge === 'rest') return { rest: withData({ type, id, source, subject, time }, data) };
  const all = { specversion: '1.0', source: '/hostile', time: BASE_TIME, tenantid: tenantId, ...attributes };
  if (edge === 'structured') return { kafka: { key: tenantId, value: withData(all, data), ...envelope } };
  const headers: IHeaders = { 'content-type': 'application/json' };
  for (const [name, value] of Object.entries(all)) {
    if (value === undefined) continue;
    if (!Buffer.isBuffer(value) && (typeof value !== 'string' || !wellFormed(value))) return null;
    headers[`ce_${name}`] = value;
  }
  return {
    kafka: {
      key: tenantId,
      value: Buffer.from(data),
      ...envelope,
      headers: { ...headers, ...envelope.headers },
    },
  };
}

export interface CorpusWorld {
  tenantId: string;
  otherTenantId: string;
  rng: SeededRandom;
}

/** Every event case: attributes, data, the Kafka envelope and timestamps, on every edge that reaches them. */
export function buildEventCorpus({ tenantId, otherTenantId, rng }: CorpusWorld): EventCase[] {
  const cases: EventCase[] = [];
  let counter = 0;
  const uniqueId = () => `hs${(counter++).toString(36)}-${rng.bytes(3).toString('hex')}`;
  const add = (
    group: Group,
    edge: Edge,
    label: string,
    attributes: Record<string, unknown>,
    data: string | Buffer,
    verdict: Verdict,
    envelope?: Partial<KafkaMessage>,
    field?: string,
  ) => {
    const message = onEdge(edge, tenantId, { type: `hostile.${group}`, ...attributes }, data, envelope);
    if (!message) return;
    const id = attributes.id;
    if (verdict.good) {
      const deliver = {
        id: String(id),
        data: JSON.parse(Buffer.from(data).toString()),
        escapes: [...(verdict.escapes ?? [])],
      };
      cases.push({ group, edge, label, ...message, deliver });
    } else {
      const probeId = typeof id === 'string' ? id : undefined;
      cases.push({ group, edge, label, ...message, refuse: { field, reasons: verdict.reasons }, probeId });
    }
  };
  const delivered = (escapes: readonly string[] = []): Verdict => ({ good: true, reasons: [], escapes });

  // Attributes: every value of every attribute, on every edge that can carry it.
  for (const name of ['id', 'type', 'source', 'subject', 'time'] as const) {
    EDGES.forEach((edge, edgeIndex) => {
      for (const v of attributeValues(name, uniqueId(), edgeIndex)) {
        const id = name === 'id' ? v.value : uniqueId();
        add(
          'attributes',
          edge,
          `${name}: ${v.label}`,
          { id, [name]: v.value },
          `{"attribute":"${name}"}`,
          v,
          {},
          name,
        );
      }
    });
    for (const [label, bytes] of INVALID_UTF8) {
      const value = Buffer.concat([utf8('a'), bytes]);
      add(
        'attributes',
        'binary',
        `${name}: ${label}`,
        { id: uniqueId(), [name]: value },
        '{}',
        bad(label, value),
        {},
        name,
      );
    }
    if (name !== 'subject' && name !== 'time') {
      const missing = bad('null', null, ['missing_attribute']);
      add(
        'attributes',
        'structured',
        `${name}: null`,
        { id: uniqueId(), [name]: null },
        '{}',
        missing,
        {},
        name,
      );
    }
  }
  const tenant = ['unknown_tenant', 'invalid_attribute'] as Reason[];
  for (const v of [
    good('the tenant id in upper case', tenantId.toUpperCase()),
    ...[
      ['empty', ''],
      ['one space', ' '],
      ['a random UUID', rng.uuid()],
      ['the nil UUID', '00000000-0000-0000-0000-000000000000'],
      ['in braces', `{${tenantId}}`],
      ['as a URN', `urn:uuid:${tenantId}`],
      ['a trailing NUL', `${tenantId}\u0000`],
      ['a trailing space', `${tenantId} `],
    ].map(([label, value]) => bad(label, value, tenant)),
    bad('a number', 42, tenant),
  ]) {
    for (const edge of ['structured', 'binary'] as const) {
      add(
        'attributes',
        edge,
        `tenantid: ${v.label}`,
        { id: uniqueId(), tenantid: v.value },
        '{}',
        v,
        {},
        'tenantid',
      );
    }
  }

  // data: good values on every edge, bad ones, then sizes at and past the limit.
  for (const [label, text, escapes] of GOOD_DATA) {
    for (const edge of EDGES)
      add('data', edge, `data: ${label}`, { id: uniqueId() }, text, delivered(escapes));
  }
  for (const [label, bytes, namesData, reasons] of BAD_DATA) {
    for (const edge of EDGES) {
      const field = namesData ? 'data' : undefined;
      add('data', edge, `data: ${label}`, { id: uniqueId() }, bytes, bad(label, null, reasons), {}, field);
    }
  }
  const tooLarge = bad('too large', null, ['too_large']);
  for (const [unitLabel, unit, escapes] of [
    ['ASCII', 'a', []],
    ['two-byte characters', 'é', []],
    ['NUL escapes', '\\u0000', ['\\u0000']],
  ] as const) {
    for (const size of [MAX_EVENT_BYTES, MAX_EVENT_BYTES + 1]) {
      const id = uniqueId();
      const empty = onEdge('structured', tenantId, { type: 'hostile.data', id }, '{"pad":""}');
      const room = size - (empty?.kafka?.value as Buffer).length;
      const units = unit.repeat(Math.floor(room / Buffer.byteLength(unit)));
      const data = `{"pad":"${units}${'a'.repeat(room % Buffer.byteLength(unit))}"}`;
      const verdict = size === MAX_EVENT_BYTES ? delivered(escapes) : tooLarge;
      add(
        'data',
        'structured',
        `data: a structured event of ${size} bytes of ${unitLabel}`,
        { id },
        data,
        verdict,
      );
    }
  }
  const padding = (bytes: number) => JSON.stringify({ pad: 'p'.repeat(bytes) });
  const sized: Array<[Edge, string, number, Verdict]> = [
    ['binary', 'a binary event 1 KiB under the limit', MAX_EVENT_BYTES - 1024, delivered()],
    ['binary', 'a binary event 1 byte over the limit', MAX_EVENT_BYTES - 9, tooLarge],
    ['rest', 'a REST event 2 KiB under the limit', MAX_EVENT_BYTES - 2048, delivered()],
    ['rest', 'a REST event over the limit', MAX_EVENT_BYTES + 1, tooLarge],
    ['rest', 'a body over the 1 MiB body limit', MAX_BODY_BYTES + 1, tooLarge],
  ];
  for (const [edge, label, bytes, verdict] of sized) {
    add('data', edge, `data: ${label}`, { id: uniqueId() }, padding(bytes), verdict);
  }

  // The Kafka envelope: keys, headers and extension attributes around good events.
  // The key must be the event's tenantid (any letter case); anything else is a tenant_key_mismatch.
  const keys: Array<[string, Buffer | string | null]> = [
    ['null', null],
    ['empty', Buffer.alloc(0)],
    ['invalid UTF-8', Buffer.from([0xff, 0xfe, 0xc0, 0x80, 0xed, 0xa0, 0x80])],
    ['controls and emoji', 'k\u0000\u001b[31m😀\u007f'],
    ['64 KiB', 'k'.repeat(64 * 1024)],
    ["the other tenant's id", otherTenantId],
    ['random bytes', rng.bytes(40)],
  ];
  const ok = delivered();
  const mismatch = bad('key', null, ['tenant_key_mismatch']);
  for (const [label, key] of keys)
    add('envelope', 'structured', `key: ${label}`, { id: uniqueId() }, '{"e":1}', mismatch, { key });
  add('envelope', 'structured', 'key: the tenant id in upper case', { id: uniqueId() }, '{"e":1}', ok, {
    key: tenantId.toUpperCase(),
  });
  for (const [label, headers] of hostileHeaders()) {
    const explicit = { ...headers, 'content-type': 'application/cloudevents+json' };
    add('envelope', 'structured', `headers: ${label}`, { id: uniqueId() }, '{"e":1}', ok, {
      headers: explicit,
    });
  }
  for (const [label, member] of EXTENSIONS) {
    const id = uniqueId();
    const event = onEdge('structured', tenantId, { type: 'hostile.envelope', id }, '{"e":1}');
    const value = (event?.kafka?.value as Buffer).toString().replace(',"data":', `,${member},"data":`);
    cases.push({
      group: 'envelope',
      edge: 'structured',
      label: `extension: ${label}`,
      kafka: { key: tenantId, value },
      deliver: { id, data: { e: 1 }, escapes: [] },
    });
  }
  for (const [label, headers] of BINARY_EXTENSIONS) {
    add('envelope', 'binary', `binary extension: ${label}`, { id: uniqueId() }, '{"e":1}', ok, { headers });
  }
  const forged = { 'hs-reason': 'attempts_exhausted', 'hs-origin': 'elsewhere/0/0', 'hs-reason-detail': 'x' };
  const label = 'bad input with forged hs-* headers';
  const missing = bad('no type', null, ['missing_attribute']);
  add('envelope', 'structured', label, { id: uniqueId(), type: null }, '{}', missing, { headers: forged });
  cases.push({
    group: 'envelope',
    edge: 'structured',
    label: 'bad input under an invalid UTF-8 key',
    kafka: { key: Buffer.from([0xff, 0x00, 0xfe]), value: '{"specversion":' },
    refuse: { reasons: ['invalid_json'] },
  });

  // Timestamps (the spec sends these last, each alone).
  for (const [label, timestamp, isDate] of TIMESTAMPS) {
    add('timestamps', 'structured', `timestamp ${label}, with a time`, { id: uniqueId() }, '{}', ok, {
      timestamp,
    });
    if (isDate === null) continue;
    const verdict = isDate ? ok : bad('no date', null, ['invalid_attribute', 'missing_attribute']);
    add(
      'timestamps',
      'structured',
      `timestamp ${label}, without a time`,
      { id: uniqueId(), time: undefined },
      '{}',
      verdict,
      { timestamp },
    );
  }
  return cases;
}

// --- endpoints ----------------------------------------------------------------------------------

export type EndpointField = 'url' | 'headers' | 'description' | 'metadata' | 'eventTypes';

export interface EndpointCase {
  field: EndpointField;
  label: string;
  /** The field's value; or, for bytes no JSON string can carry, its JSON text as bytes (`raw`). */
  value?: unknown;
  raw?: Buffer;
  /** Only a 400 is right: PostgreSQL text cannot hold NUL, and undecodable bytes cannot be read back. */
  mustRefuse: boolean;
}

/** Hostile values for every endpoint field; `url(path)` is a URL the service may reach. */
export function buildEndpointCorpus(url: (path: string) => string): EndpointCase[] {
  const cases: EndpointCase[] = [];
  const add = (field: EndpointField, label: string, value: unknown, mustRefuse = false) =>
    cases.push({ field, label, value, mustRefuse });
  const addRaw = (field: EndpointField, label: string, raw: Buffer) =>
    cases.push({ field, label, raw, mustRefuse: true });
  const strings = (field: EndpointField, wrap: (s: string) => unknown) => {
    for (const c of CONTROL_CHARACTERS) add(field, `control ${codePoint(c)}`, wrap(`a${c}b`), c === '\u0000');
    for (const [label, s] of [...SURROGATES, ...WHITESPACE_ONLY, ...MARKS]) add(field, label, wrap(s));
    add(field, 'empty', wrap(''));
  };
  const rawString = (bytes: Buffer) => Buffer.concat([utf8('"a'), bytes, utf8('b"')]);

  const base = url('/endpoint-corpus');
  strings('url', (s) => `${base}/${s}`);
  add('url', 'leading and trailing spaces', ` ${base} `);
  add('url', 'NUL in the host', `http://127.0.0.1\u0000.example/`, true);
  add('url', '2,048 characters', base + '/' + 'u'.repeat(2048 - base.length - 1));
  add('url', '2,049 characters', base + '/' + 'u'.repeat(2049 - base.length - 1));
  for (const [label, bytes] of INVALID_UTF8)
    addRaw('url', label, rawString(Buffer.concat([utf8(`${base}/`), bytes])));

  strings('headers', (s) => ({ 'x-hostile': s }));
  for (const c of CONTROL_CHARACTERS) {
    add('headers', `name with control ${codePoint(c)}`, { [`x${c}y`]: 'v' }, c === '\u0000');
  }
  for (const [label, s] of [...SURROGATES, ...MARKS]) add('headers', `name: ${label}`, { [`x-${s}`]: 'v' });
  add('headers', 'an empty name', { '': 'v' });
  add('headers', 'a 10,000-character name', { [`x-${'n'.repeat(10_000)}`]: 'v' });
  add('headers', 'a 4,096-character value', { 'x-long': 'v'.repeat(4096) });
  add('headers', 'a 4,097-character value', { 'x-long': 'v'.repeat(4097) });
  add('headers', 'a 100,000-character value', { 'x-long': 'v'.repeat(100_000) });
  add('headers', 'a non-Latin-1 value', { 'x-emoji': '😀 ünï ✓' });
  for (const name of 'webhook-signature Webhook-Id webhook-timestamp content-length Content-Type host'.split(
    ' ',
  )) {
    add('headers', `a name Hookstream sets: ${name}`, { [name]: '1' });
  }
  add('headers', '20 headers', Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`x-h${i}`, 'v'])));
  add('headers', '21 headers', Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`x-h${i}`, 'v'])));
  for (const [label, bytes] of INVALID_UTF8) {
    addRaw('headers', label, Buffer.concat([utf8('{"x-bytes":'), rawString(bytes), utf8('}')]));
  }

  strings('description', (s) => s);
  add('description', '500 characters', 'd'.repeat(500));
  add('description', '501 characters', 'd'.repeat(501));
  add('description', '100,000 characters', 'd'.repeat(100_000));
  add('description', 'null', null);
  for (const [label, bytes] of INVALID_UTF8) addRaw('description', label, rawString(bytes));

  strings('metadata', (s) => ({ key: s }));
  for (const c of CONTROL_CHARACTERS)
    add('metadata', `key with control ${codePoint(c)}`, { [`k${c}`]: 'v' }, c === '\u0000');
  for (const [label, s] of [...SURROGATES, ...WHITESPACE_ONLY])
    add('metadata', `key: ${label}`, { [s]: 'v' });
  add('metadata', 'an empty key', { '': 'v' });
  add('metadata', 'prototype keys', JSON.parse('{"__proto__":"p","constructor":"c"}'));
  add('metadata', 'a 100-character key', { ['k'.repeat(100)]: 'v' });
  add('metadata', 'a 101-character key', { ['k'.repeat(101)]: 'v' });
  add('metadata', 'a 1,000-character value', { k: 'v'.repeat(1000) });
  add('metadata', 'a 1,001-character value', { k: 'v'.repeat(1001) });
  add('metadata', '50 keys', Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, 'v'])));
  add('metadata', '51 keys', Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])));
  for (const [label, bytes] of INVALID_UTF8) {
    addRaw('metadata', label, Buffer.concat([utf8('{"k":'), rawString(bytes), utf8('}')]));
  }

  strings('eventTypes', (s) => [s]);
  add('eventTypes', 'a 200-character type', ['t'.repeat(200)]);
  add('eventTypes', 'a 201-character type', ['t'.repeat(201)]);
  const types = (count: number) => Array.from({ length: count }, (_, i) => `t${i}`);
  add('eventTypes', '100 types', types(100));
  add('eventTypes', '101 types', types(101));
  add('eventTypes', 'a repeated type', ['a.b', 'a.b']);
  add('eventTypes', 'an empty list', []);
  add('eventTypes', 'e acute and emoji', ['é', '😀']);
  for (const [label, bytes] of INVALID_UTF8) {
    addRaw('eventTypes', label, Buffer.concat([utf8('['), rawString(bytes), utf8(']')]));
  }
  return cases;
}
