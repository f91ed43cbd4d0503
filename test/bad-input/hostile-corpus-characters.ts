/**
 * The character corpus of the hostile inputs: control characters, lone surrogates, invalid UTF-8,
 * whitespace-only strings and treacherous printable marks, with the helpers that encode and name them.
 */

export const utf8 = (text: string) => Buffer.from(text, 'utf8');
export const codePoint = (c: string) => `U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;

/** U+0000-U+001F and U+007F: the control characters of the contract. */
export const CONTROL_CHARACTERS: readonly string[] = [
  ...Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)),
  '\u007f',
];
export const SURROGATES: ReadonlyArray<[string, string]> = [
  ['lone high surrogate U+D800', '\ud800'],
  ['lone high surrogate U+DBFF at the end', 'x\udbff'],
  ['lone low surrogate U+DC00', '\udc00'],
  ['lone low surrogate U+DFFF before a letter', '\udfffx'],
  ['surrogate pair reversed', '\ude00\ud83d'],
];
export const INVALID_UTF8: ReadonlyArray<[string, Buffer]> = [
  ['byte 0xFF', Buffer.from([0xff])],
  ['overlong NUL 0xC0 0x80', Buffer.from([0xc0, 0x80])],
  ['encoded surrogate 0xED 0xA0 0x80', Buffer.from([0xed, 0xa0, 0x80])],
  ['truncated sequence 0xE2 0x82', Buffer.from([0xe2, 0x82])],
  ['lone continuation byte 0x80', Buffer.from([0x80])],
  ['past U+10FFFF 0xF4 0x90 0x80 0x80', Buffer.from([0xf4, 0x90, 0x80, 0x80])],
];
export const WHITESPACE_ONLY: ReadonlyArray<[string, string]> = [
  ['whitespace only: one space', ' '],
  ['whitespace only: four spaces', '    '],
  ['whitespace only: no-break space', '\u00a0'],
  ['whitespace only: ideographic space', '\u3000'],
];
/** Printable but treacherous: bidi and zero-width marks, separators, noncharacters, C1, emoji. */
export const MARKS: ReadonlyArray<[string, string]> = [
  ['right-to-left override', '\u202eevil\u202c'],
  ['zero-width space and joiner', 'a\u200bb\u200dc'],
  ['byte order mark', '\ufeffx'],
  ['line and paragraph separators', 'a\u2028b\u2029c'],
  ['noncharacters U+FFFE U+FFFF', '\ufffe\uffff'],
  ['C1 controls U+0080 U+0085 U+009F', '\u0080\u0085\u009f'],
  ['emoji with ZWJ sequences and a flag', '👩‍👩‍👧‍👦🏳️‍🌈🇺🇸'],
  ['combining marks', 'Z\u0337\u0322a\u0335l\u0336g\u0338o'],
];
