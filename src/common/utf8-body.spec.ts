import { invalidUtf8Offset, topLevelFieldAt } from './utf8-body';

const bytes = (...parts: Array<string | number[]>) =>
  Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part) : Buffer.from(part))));

describe('invalidUtf8Offset', () => {
  it.each([
    ['ASCII', bytes('{"a":1}')],
    ['two, three and four bytes', bytes('é€😀')],
    ['the last code point U+10FFFF', bytes([0xf4, 0x8f, 0xbf, 0xbf])],
    ['U+FFFD itself', bytes('\ufffd')],
  ])('finds nothing wrong in %s', (_label, input) => {
    expect(invalidUtf8Offset(input)).toBe(-1);
  });

  it.each([
    ['byte 0xFF', [0xff], 1],
    ['overlong NUL 0xC0 0x80', [0xc0, 0x80], 1],
    ['overlong 0xE0 0x80 0x80', [0xe0, 0x80, 0x80], 1],
    ['encoded surrogate 0xED 0xA0 0x80', [0xed, 0xa0, 0x80], 1],
    ['truncated sequence 0xE2 0x82', [0xe2, 0x82], 1],
    ['lone continuation byte 0x80', [0x80], 1],
    ['past U+10FFFF 0xF4 0x90 0x80 0x80', [0xf4, 0x90, 0x80, 0x80], 1],
    ['0xF5', [0xf5, 0x80, 0x80, 0x80], 1],
  ])('finds %s where it starts', (_label, bad, expected) => {
    const input = bytes('a', bad, 'b');
    expect(invalidUtf8Offset(input)).toBe(expected);
    // Node's own check agrees that it is not UTF-8.
    expect(Buffer.from(input).toString('utf8')).toContain('\ufffd');
  });
});

describe('topLevelFieldAt', () => {
  const at = (json: Buffer, marker: string) => topLevelFieldAt(json, json.indexOf(marker));

  it('names the member whose value holds the offset, at any depth below it', () => {
    const json = bytes('{"type":"a","data":{"x":["y",{"z":"HERE"}]},"id":"i"}');
    expect(at(json, 'HERE')).toBe('data');
    expect(at(json, '"i"')).toBe('id');
    expect(at(json, '"a"')).toBe('type');
  });

  it('is not fooled by quotes, braces and commas inside strings', () => {
    const json = bytes('{"description":"a\\",{}[],\\"b HERE","metadata":{"k":"v"}}');
    expect(at(json, 'HERE')).toBe('description');
  });

  it('names a member whose key holds the offset, escaped when it is not a plain word', () => {
    expect(at(bytes('{"a":1,"bad key HERE":2}'), 'HERE')).toBe('"bad key HERE"');
  });

  it('names nothing for a body that is not an object', () => {
    expect(at(bytes('["HERE"]'), 'HERE')).toBeNull();
    expect(at(bytes('"HERE"'), 'HERE')).toBeNull();
  });
});
