import { invalidHeader, invalidHeaders } from './http-fields';

describe('invalidHeader', () => {
  it.each([
    ['webhook-id', 'msg_2Lq', null],
    ['X-Api-Key', 'abc def\tghi', null],
    ['x-latin1', 'café ÿ', null],
    ['x-empty', '', null],
  ])('sends %s: %j', (name, value, expected) => {
    expect(invalidHeader(name, value)).toBe(expected);
  });

  it.each([
    ['x-ctl', 'a\u0001b', /^invalid header x-ctl: the value holds U\+0001;/],
    ['x-crlf', 'a\r\nb', /^invalid header x-crlf: the value holds U\+000D;/],
    ['webhook-id', 'nul\u0000', /^invalid header webhook-id: the value holds U\+0000;/],
    ['x-del', 'a\u007f', /U\+007F/],
    ['x-emoji', 'smile \u{1f600}', /the value holds U\+1F600;/],
    ['x-cjk', '\u4e00', /U\+4E00/],
    ['x-lone', '\ud800', /U\+D800/],
  ])('refuses %s with %j, naming the character', (name, value, message) => {
    expect(invalidHeader(name, value)).toMatch(message);
  });

  it('refuses names that are not tokens, showing them escaped', () => {
    expect(invalidHeader('x y', 'v')).toBe('invalid header "x y": the name is not an HTTP token (RFC 9110)');
    expect(invalidHeader('x\u0000', 'v')).toBe(
      'invalid header "x\\u0000": the name is not an HTTP token (RFC 9110)',
    );
    expect(invalidHeader('', 'v')).toMatch(/^invalid header "": /);
  });

  it('refuses fields the HTTP client will not send, and values that are not strings', () => {
    expect(invalidHeader('Transfer-Encoding', 'chunked')).toMatch(/sets or refuses this field/);
    expect(invalidHeader('expect', '100-continue')).toMatch(/sets or refuses this field/);
    expect(invalidHeader('x-n', 42)).toBe('invalid header x-n: the value is not a string');
  });

  it('reports the first bad header of a set', () => {
    expect(invalidHeaders({ a: '1', b: '\n', c: '\u0000' })).toMatch(/^invalid header b: /);
    expect(invalidHeaders({ a: '1' })).toBeNull();
  });
});
