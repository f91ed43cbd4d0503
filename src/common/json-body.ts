import { isUtf8 } from 'node:buffer';
import { gunzipSync, inflateSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { INVALID_UTF8_BODY, invalidUtf8Offset, topLevelFieldAt } from './utf8-body';

/**
 * A request body the JSON parser refuses: the exception filter answers it with `status`, this
 * message and `details` (the shape of every error the API returns).
 */
export class BodyParseError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly details: string[] = [message],
  ) {
    super(message);
    this.name = 'BodyParseError';
  }
}

/** What the parser needs of the request besides the bytes. */
export interface JsonBodyHeaders {
  'content-type'?: string;
  'content-encoding'?: string;
}

const CHARSET = /;\s*charset\s*=\s*"?([^";\s]*)"?/i;

/**
 * Parses a JSON request body as the API has always read them (body-parser's `json()` on Express,
 * before decision 66): gzip and deflate are inflated (to at most `limit` bytes); only UTF-8 is
 * read, and bytes that are not UTF-8 are refused naming the field they are in rather than decoded
 * with U+FFFD (RFC 8259 8.1); an empty body is `{}`; a leading byte-order mark is dropped; the text
 * must be an object or an array (body-parser's `strict`). `JSON.parse` keeps a `__proto__` member
 * as an ordinary property, so no prototype is ever set from a body.
 */
export function parseJsonBody(raw: Buffer, headers: JsonBodyHeaders, limit: number): unknown {
  const bytes = decoded(raw, headers['content-encoding'], limit);
  const charset = CHARSET.exec(headers['content-type'] ?? '')?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new BodyParseError(415, 'charset.unsupported', `unsupported charset "${charset.toUpperCase()}"`);
  }
  if (bytes.length === 0) return {};
  if (!isUtf8(bytes)) {
    const offset = invalidUtf8Offset(bytes);
    const field = topLevelFieldAt(bytes, offset);
    const where = field === null ? '' : `: ${field} holds bytes that are not UTF-8`;
    throw new BodyParseError(
      400,
      INVALID_UTF8_BODY,
      `request body is not valid UTF-8${where} (at byte ${offset})`,
    );
  }
  let text = bytes.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const first = /\S/.exec(text)?.[0];
  if (first !== '{' && first !== '[') {
    throw notJson('the body must be a JSON object or array');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw notJson((error as Error).message);
  }
}

function notJson(detail: string): BodyParseError {
  return new BodyParseError(400, 'entity.parse.failed', 'request body is not valid JSON', [detail]);
}

function decoded(raw: Buffer, encoding: string | undefined, limit: number): Buffer {
  const name = (encoding ?? 'identity').trim().toLowerCase();
  if (name === 'identity' || name === '') return raw;
  const inflate = name === 'gzip' || name === 'x-gzip' ? gunzipSync : name === 'deflate' ? inflateSync : null;
  if (inflate === null) {
    throw new BodyParseError(415, 'encoding.unsupported', `unsupported content encoding "${name}"`);
  }
  try {
    return inflate(raw, { maxOutputLength: limit });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new BodyParseError(413, 'entity.too.large', 'request body is too large');
    }
    throw new BodyParseError(400, 'encoding.invalid', `request body is not valid ${name} data`);
  }
}

/** Makes `parseJsonBody` the instance's only body parser: JSON only, other types get 415. */
export function useJsonBodyParser(fastify: FastifyInstance, limit: number): void {
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer', bodyLimit: limit },
    (request, body, done) => {
      try {
        done(null, parseJsonBody(body as Buffer, request.headers, limit));
      } catch (error) {
        done(error as Error, undefined);
      }
    },
  );
}
