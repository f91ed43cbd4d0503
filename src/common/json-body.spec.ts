import { deflateSync, gzipSync } from 'node:zlib';
import { BodyParseError, parseJsonBody } from './json-body';

const LIMIT = 1024;
const JSON_TYPE = { 'content-type': 'application/json' };

function refusal(run: () => unknown): Pick<BodyParseError, 'status' | 'type' | 'message' | 'details'> {
  try {
    run();
  } catch (error) {
    if (!(error instanceof BodyParseError)) throw error;
    return { status: error.status, type: error.type, message: error.message, details: error.details };
  }
  throw new Error('the body was accepted');
}

describe('parseJsonBody', () => {
  const parse = (body: Buffer | string, headers: Record<string, string> = JSON_TYPE) =>
    parseJsonBody(typeof body === 'string' ? Buffer.from(body) : body, headers, LIMIT);

  it('reads a UTF-8 object or array, with or without a charset, and an empty body as {}', () => {
    expect(parse('{"data":"é😀"}')).toEqual({ data: 'é😀' });
    expect(parse(' [1] ', { 'content-type': 'application/json; charset=UTF-8' })).toEqual([1]);
    expect(parse('')).toEqual({});
  });

  it('drops a leading byte-order mark and keeps __proto__ an own property, setting no prototype', () => {
    const body = parse('\ufeff{"__proto__":{"polluted":true}}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(body)).toBe(Object.prototype);
    expect(Object.keys(body)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses what is not a JSON object or array with 400, the parser message in details', () => {
    expect(refusal(() => parse('{"url":'))).toMatchObject({
      status: 400,
      type: 'entity.parse.failed',
      message: 'request body is not valid JSON',
      details: [expect.stringMatching(/JSON/)],
    });
    for (const scalar of ['42', '"body"', 'null', 'nul', '   ']) {
      expect(refusal(() => parse(scalar))).toMatchObject({ status: 400, type: 'entity.parse.failed' });
    }
  });

  it('refuses a body that is not UTF-8 with a 400 naming the field', () => {
    const body = Buffer.concat([
      Buffer.from('{"type":"a","description":"x'),
      Buffer.from([0xed, 0xa0, 0x80]),
      Buffer.from('y"}'),
    ]);
    expect(refusal(() => parse(body))).toMatchObject({
      status: 400,
      type: 'entity.utf8.invalid',
      message: 'request body is not valid UTF-8: description holds bytes that are not UTF-8 (at byte 28)',
    });
  });

  it('refuses another charset with 415', () => {
    expect(refusal(() => parse('{}', { 'content-type': 'application/json; charset=utf-16' }))).toMatchObject({
      status: 415,
      message: 'unsupported charset "UTF-16"',
    });
  });

  it('inflates gzip and deflate up to the limit (413 past it), and refuses other encodings with 415', () => {
    const json = '{"a":1}';
    expect(parse(gzipSync(json), { ...JSON_TYPE, 'content-encoding': 'gzip' })).toEqual({ a: 1 });
    expect(parse(deflateSync(json), { ...JSON_TYPE, 'content-encoding': 'deflate' })).toEqual({ a: 1 });
    const bomb = gzipSync(`{"a":"${'x'.repeat(LIMIT * 10)}"}`);
    expect(refusal(() => parse(bomb, { ...JSON_TYPE, 'content-encoding': 'gzip' }))).toMatchObject({
      status: 413,
    });
    expect(refusal(() => parse('xx', { ...JSON_TYPE, 'content-encoding': 'gzip' }))).toMatchObject({
      status: 400,
    });
    expect(refusal(() => parse(json, { ...JSON_TYPE, 'content-encoding': 'br' }))).toMatchObject({
      status: 415,
    });
  });
});
