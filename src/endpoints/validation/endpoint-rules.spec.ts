import { EVENT_TYPE_PATTERN, MAX_EVENT_TYPE_LENGTH } from '../../domain/event-contract';
import { eventTypeProblems, headerProblems, metadataProblems } from './endpoint-rules';

describe('eventTypeProblems', () => {
  it.each([['*'], ['record.updated'], ['record.*'], ['Record.Updated'], ['a_b-c.d1.*'], ['record']])(
    'accepts %s',
    (pattern) => {
      expect(eventTypeProblems([pattern])).toEqual([]);
    },
  );

  // Review 8, F10: each of these can be published and catalogued, so an endpoint can name it.
  it.each([
    ['the longest type', 'x'.repeat(MAX_EVENT_TYPE_LENGTH)],
    ['a type over 200 characters', 'x'.repeat(201)],
    ['a trailing empty segment', 'record.'],
    ['a leading empty segment', '.record'],
    ['an empty segment inside', 'record..updated'],
    ['the prefix of a type with an empty segment', 'record..*'],
    ['a prefix as long as a type can be', `${'x'.repeat(MAX_EVENT_TYPE_LENGTH - 2)}.*`],
  ])('accepts %s, as the event contract does', (_label, pattern) => {
    expect(EVENT_TYPE_PATTERN.test(pattern.replace(/\.\*$/, '.x'))).toBe(true);
    expect(eventTypeProblems([pattern])).toEqual([]);
  });

  it.each([
    ['.*'],
    [`${'x'.repeat(MAX_EVENT_TYPE_LENGTH - 1)}.*`],
    ['record.*.updated'],
    ['*.updated'],
    ['rec*'],
    ['record.**'],
    ['record updated'],
    [''],
    ['x'.repeat(MAX_EVENT_TYPE_LENGTH + 1)],
  ])('refuses %p', (pattern) => {
    expect(eventTypeProblems([pattern])).toEqual([expect.stringMatching(/must be an exact type like/)]);
  });

  it('refuses an empty list, too many entries and non-strings', () => {
    expect(eventTypeProblems([])).toEqual([expect.stringMatching(/must not be empty/)]);
    expect(eventTypeProblems(Array.from({ length: 101 }, (_, i) => `t${i}`))).toEqual([
      'eventTypes must have at most 100 entries',
    ]);
    expect(eventTypeProblems([1])).toEqual(['eventTypes entries must be strings']);
    expect(eventTypeProblems('record.*')).toEqual(['eventTypes must be an array of strings']);
  });
});

describe('headerProblems', () => {
  it('accepts ordinary custom headers', () => {
    expect(headerProblems({ 'X-Api-Key': 'abc', Authorization: 'Bearer x' })).toEqual([]);
  });

  it.each([
    'Connection',
    'keep-alive',
    'Transfer-Encoding',
    'TE',
    'trailer',
    'upgrade',
    'Proxy-Authorization',
    'host',
    'Content-Length',
    'content-type',
  ])('refuses the hop-by-hop or framing header %s', (name) => {
    expect(headerProblems({ [name]: 'x' })).toEqual([
      expect.stringMatching(/hop-by-hop or set by Hookstream/),
    ]);
  });

  it.each(['webhook-signature', 'Webhook-Id', 'webhook-anything'])('refuses %s', (name) => {
    expect(headerProblems({ [name]: 'x' })).toEqual([expect.stringMatching(/webhook-\* headers/)]);
  });

  it('refuses bad names, non-string values, header injection and too many headers', () => {
    expect(headerProblems({ 'bad name': 'x' })).toEqual([
      expect.stringMatching(/not a valid HTTP header name/),
    ]);
    expect(headerProblems({ 'x-a': 1 })).toEqual(['header "x-a" value must be a string']);
    expect(headerProblems({ 'x-a': 'a\r\nx-b: c' })).toEqual([
      expect.stringMatching(/without CR, LF or NUL/),
    ]);
    const many = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`x-h${i}`, 'v']));
    expect(headerProblems(many)).toEqual(['headers must have at most 20 entries']);
    expect(headerProblems(['x'])).toEqual([expect.stringMatching(/must be an object/)]);
  });
});

describe('metadataProblems', () => {
  it('accepts string values and refuses the rest', () => {
    expect(metadataProblems({ team: 'billing' })).toEqual([]);
    expect(metadataProblems({ team: 1 })).toEqual([expect.stringMatching(/"team" must be a string/)]);
    const many = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v']));
    expect(metadataProblems(many)).toEqual(['metadata must have at most 50 keys']);
    expect(metadataProblems(null)).toEqual([expect.stringMatching(/must be an object/)]);
  });
});

describe('values PostgreSQL or HTTP would refuse or rewrite', () => {
  it.each([
    ['a control character', 'a\u0001b'],
    ['a character beyond Latin-1', 'caf\u00e9 \u2603'],
    ['a DEL', 'a\u007f'],
  ])('refuses a header value with %s', (_what, value) => {
    expect(headerProblems({ 'X-Key': value }).join()).toMatch(/visible ASCII|CR, LF or NUL/);
  });

  it('keeps a Latin-1 header value and a tab', () => {
    expect(headerProblems({ 'X-Key': 'caf\u00e9\tok' })).toEqual([]);
  });

  it.each([
    ['a NUL in a value', { team: 'a\u0000' }],
    ['an unpaired surrogate in a value', { team: '\udc00' }],
    ['a NUL in a key', { 'te\u0000am': 'x' }],
  ])('refuses metadata with %s', (_what, metadata) => {
    expect(metadataProblems(metadata).length).toBeGreaterThan(0);
  });
});
