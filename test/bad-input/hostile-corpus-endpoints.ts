/**
 * The endpoint cases: hostile values for every field of an endpoint (url, headers, description,
 * metadata, eventTypes), each marked when only a 400 is right.
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
  add('eventTypes', 'a 256-character type (the longest)', ['t'.repeat(256)]);
  add('eventTypes', 'a 257-character type', ['t'.repeat(257)]);
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
