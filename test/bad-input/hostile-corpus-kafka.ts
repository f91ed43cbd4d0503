/**
 * The Kafka record around good events: hostile headers, extension attributes (structured members and
 * binary-mode ce_ headers) and record timestamps, none of which may stop a delivery on their own.
 */
import type { IHeaders } from 'kafkajs';
import { CONTROL_CHARACTERS } from './hostile-corpus-characters';
import { nestedArrays } from './hostile-corpus-event-values';

/** Kafka headers on a structured-mode event: none of them may stop its delivery. */
export function hostileHeaders(): Array<[string, IHeaders]> {
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
export const EXTENSIONS: ReadonlyArray<[string, string]> = [
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
export const BINARY_EXTENSIONS: ReadonlyArray<[string, IHeaders]> = [
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
export const TIMESTAMPS: ReadonlyArray<[string, string, boolean | null]> = [
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
