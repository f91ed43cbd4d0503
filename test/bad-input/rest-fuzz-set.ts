import type { TestReceiver } from '../support/receiver';
import type { SeededRandom } from '../support/seeded-random';
import { ADMIN_TOKEN } from '../support/service';

/**
 * The fuzz set of rest-fuzz.e2e-spec.ts: for every route /docs-json lists, requests with hostile
 * tokens, path and query parameters, bodies and content types, built from the route's own schema
 * and a seeded stream, so every run sends the same set.
 */

export interface OpenApi {
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
}
export interface Operation {
  parameters?: Array<{ name: string; in: string; schema?: Schema }>;
  requestBody?: { content?: Record<string, { schema?: Schema }> };
}
export interface Schema {
  $ref?: string;
  type?: string;
  format?: string;
  enum?: unknown[];
  example?: unknown;
  minimum?: number;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
}

export interface FuzzRequest {
  method: string;
  route: string;
  caseName: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
  /** The route documents a JSON request body (others may ignore one). */
  takesBody: boolean;
}

/** Routes whose callers are the operator, not a tenant (the event catalogue: its writes only). */
export const isAdminRoute = (route: string, method = 'GET') =>
  route.startsWith('/v1/tenants') ||
  route.startsWith('/v1/ops') ||
  (route.startsWith('/v1/event-types') && method !== 'GET');
export const isPublicRoute = (route: string) => route === '/healthz' || route === '/readyz';

/** JSON text too deep for JSON.stringify (and, the point of it, for naive recursion in the service). */
class RawJson {
  constructor(readonly text: string) {}
}
const deepArray = (depth: number) => new RawJson(`${'['.repeat(depth)}1${']'.repeat(depth)}`);
const deepObject = (depth: number) => new RawJson(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`);

/** Percent-encodes; a lone surrogate becomes percent-encoded bytes that are not UTF-8 at all. */
function encodeParam(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return '%ED%A0%80%FF%00';
  }
}

/** `base` with `name` set to `value`, as JSON text; RawJson values are spliced in as they are. */
function withField(base: Record<string, unknown>, name: string, value: unknown): string {
  if (!(value instanceof RawJson)) return JSON.stringify({ ...base, [name]: value });
  const { [name]: _replaced, ...rest } = base;
  const head = JSON.stringify(rest).slice(0, -1);
  return `${head}${head === '{' ? '' : ','}${JSON.stringify(name)}:${value.text}}`;
}

export interface DocumentedRoute {
  route: string;
  method: string;
  operation: Operation;
}

/** Every route and method /docs-json lists, but the dashboard's and the docs' own. */
export function documentedRoutes(docs: OpenApi): DocumentedRoute[] {
  return Object.entries(docs.paths)
    .filter(([route]) => !route.startsWith('/dashboard') && !route.startsWith('/docs'))
    .flatMap(([route, operations]) =>
      Object.entries(operations)
        .filter(([method]) => ['get', 'post', 'put', 'patch', 'delete'].includes(method))
        .map(([method, operation]) => ({ route, method: method.toUpperCase(), operation })),
    );
}

/** What the fuzz set is built against: the running service and the objects made for it. */
export interface FuzzWorld {
  docs: OpenApi;
  serviceUrl: string;
  receiver: TestReceiver;
  maxBodyBytes: number;
  ownKey: string;
  otherKey: string;
  revokedApiKey: string;
  otherEndpointId: string;
  /** The id of a real object for a route's path parameter. */
  realIdFor(route: string, param: string): string;
  /** The token a route takes from its rightful caller (none for public routes). */
  validTokenFor(route: string, method: string): string | undefined;
}

/** The requests to send; the deletes are kept apart (`destructive`) for `sendFuzzSet` to send last. */
export function buildFuzzSet(
  routes: DocumentedRoute[],
  world: FuzzWorld,
  rng: SeededRandom,
): { requests: FuzzRequest[]; destructive: FuzzRequest[] } {
  const { docs, serviceUrl, receiver, maxBodyBytes, ownKey, otherKey, revokedApiKey, otherEndpointId } =
    world;
  const { realIdFor, validTokenFor } = world;

  // --- value pools -------------------------------------------------------------------------
  const unicode = [
    'ünïcødé ✓',
    '😀'.repeat(40),
    'a\u0000b',
    '\u0000',
    '\u202eevil',
    '\ud800',
    'ＡＢＣ',
    "' OR 1=1 --",
    '<script>alert(1)</script>',
    '../../etc/passwd',
  ];
  const huge = 'h'.repeat(100_000);
  const wrongTypes: Array<[string, unknown]> = [
    ['null', null],
    ['zero', 0],
    ['negative', -1],
    ['float', 1.5],
    ['huge-number', 1e308],
    ['true', true],
    ['empty-array', []],
    ['mixed-array', [1, 'a', null, { b: 2 }]],
    ['empty-object', {}],
    ['operator-object', { $gt: '' }],
    ['nested-object', { a: { b: { c: { d: [1, { e: 'f' }] } } } }],
    ['empty-string', ''],
    ['short-string', 'x'],
    ['huge-string', huge],
    ['deep-object', deepObject(5000)],
    ['deep-array', deepArray(5000)],
    ['huge-array', Array.from({ length: 5000 }, (_, i) => `item-${i}`)],
    ['huge-object', Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`k${i}`, `v${i}`]))],
    ...unicode.map((value, i): [string, unknown] => [`unicode-${i}`, value]),
    ['unicode-object', { 'ü😀\u0000': 'v', '': '' }],
  ];
  const pathValues = (route: string, param: string): Array<[string, string]> => [
    ['real-id', realIdFor(route, param)],
    ['other-tenants-id', otherEndpointId],
    ['random-uuid', rng.uuid()],
    ['not-a-uuid', 'not-a-uuid'],
    ['10k-chars', 'p'.repeat(10_000)],
    ['unicode', rng.pick(unicode)],
    ['nil-uuid', '00000000-0000-0000-0000-000000000000'],
    ['uuid-upper-with-braces', `{${rng.uuid().toUpperCase()}}`],
  ];
  const queryValues: Array<[string, string]> = [
    ['zero', '0'],
    ['negative', '-5'],
    ['huge', '99999999999999999999999'],
    ['float', '2.5'],
    ['nan', 'NaN'],
    ['infinity', 'Infinity'],
    ['word', 'abc'],
    ['empty', ''],
    ['10k', 'q'.repeat(10_000)],
    ['uuid', rng.uuid()],
    ['date', '2025-01-01T00:00:00Z'],
    ['bad-date', '2025-13-45T99:99:99Z'],
    ...unicode.map((value, i): [string, string] => [`unicode-${i}`, value]),
  ];
  const authVariants = (route: string, method: string): Array<[string, string | undefined]> => [
    ['none', undefined],
    ['bare-bearer', 'Bearer'],
    ['basic', `Basic ${Buffer.from('admin:admin').toString('base64')}`],
    ['garbage', `Bearer ${rng.bytes(24).toString('hex')}`],
    ['two-tokens', `Bearer ${ownKey} ${ADMIN_TOKEN}`],
    ['hs-garbage', `Bearer hs_${'ÿ'.repeat(40)}`],
    ['10k-token', `Bearer hs_${'t'.repeat(10_000)}`],
    ['lowercase-scheme', `bearer ${validTokenFor(route, method) ?? ADMIN_TOKEN}`],
    isAdminRoute(route, method)
      ? ['tenant-key-on-admin', `Bearer ${ownKey}`]
      : ['admin-on-tenant', `Bearer ${ADMIN_TOKEN}`],
    ['other-tenants-key', `Bearer ${otherKey}`],
    ['revoked-key', `Bearer ${revokedApiKey}`],
  ];

  // --- valid bodies from the schema ----------------------------------------------------------
  const resolve = (schema: Schema | undefined): Schema | undefined => {
    if (!schema?.$ref) return schema;
    return docs.components?.schemas?.[schema.$ref.replace('#/components/schemas/', '')];
  };
  const validValue = (name: string, schema: Schema): unknown => {
    if (name === 'url') return receiver.url('/fuzz-created');
    if (name === 'since') return new Date(Date.now() - 60_000).toISOString();
    if (name === 'until') return new Date().toISOString();
    if (name === 'secret') return undefined;
    if (name === 'type') return 'fuzz.event';
    if (schema.example !== undefined) return schema.example;
    if (schema.enum?.length) return schema.enum[0];
    if (schema.format === 'uuid') return rng.uuid();
    if (schema.format === 'date-time') return new Date().toISOString();
    switch (schema.type) {
      case 'string':
        return 'fuzz';
      case 'number':
      case 'integer':
        return schema.minimum ?? 1;
      case 'boolean':
        return true;
      case 'array':
        return [];
      default:
        return {};
    }
  };
  const validBody = (schema: Schema | undefined, everything: boolean): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const [name, property] of Object.entries(schema?.properties ?? {})) {
      if (!everything && !(schema?.required ?? []).includes(name)) continue;
      const value = validValue(name, resolve(property) ?? property);
      if (value !== undefined) out[name] = value;
    }
    return out;
  };

  // --- the fuzz set --------------------------------------------------------------------------
  const requests: FuzzRequest[] = [];
  const destructive: FuzzRequest[] = [];
  for (const { route, method, operation } of routes) {
    const sink = method === 'DELETE' ? destructive : requests;
    const params = [...route.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
    const pathWith = (chosen: Record<string, string>) =>
      route.replace(/\{(\w+)\}/g, (_, name: string) => encodeParam(chosen[name] ?? realIdFor(route, name)));
    const realPath = pathWith({});
    const token = validTokenFor(route, method);
    const auth = (value: string | undefined): Record<string, string> =>
      value === undefined ? {} : { authorization: value };
    const bodySchema = resolve(operation.requestBody?.content?.['application/json']?.schema);
    const hasBody = method !== 'GET';
    const baseBody = validBody(bodySchema, false);
    const fullBody = validBody(bodySchema, true);
    const push = (caseName: string, path: string, headers: Record<string, string>, body?: string) =>
      sink.push({
        method,
        route,
        caseName,
        url: `${serviceUrl}${path}`,
        headers,
        body,
        takesBody: !!bodySchema,
      });
    const validAuth = token ? `Bearer ${token}` : undefined;
    /** JSON content type plus the given Authorization value (none when undefined). */
    const jsonHeadersWith = (value: string | undefined) => ({
      ...auth(value),
      'content-type': 'application/json',
    });
    const jsonHeaders = () => jsonHeadersWith(validAuth);
    const bodyOrNone = (value: unknown) => (hasBody ? JSON.stringify(value) : undefined);

    // Tokens, on the real object with a valid body.
    for (const [name, value] of authVariants(route, method)) {
      push(`auth:${name}`, realPath, hasBody ? jsonHeadersWith(value) : auth(value), bodyOrNone(baseBody));
    }
    // Path parameters, one at a time, with the right token.
    for (const param of params) {
      for (const [name, value] of pathValues(route, param)) {
        push(
          `path:${param}=${name}`,
          pathWith({ [param]: value }),
          hasBody ? jsonHeaders() : auth(validAuth),
          bodyOrNone(baseBody),
        );
      }
    }
    // Query parameters: every documented one with hostile values, repeated, and unknown ones.
    const queryParams = (operation.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
    if (queryParams.length) {
      for (const q of queryParams) {
        for (const [name, value] of queryValues) {
          push(`query:${q}=${name}`, `${realPath}?${q}=${encodeParam(value)}`, auth(validAuth));
        }
        push(`query:${q}-repeated`, `${realPath}?${q}=1&${q}=2`, auth(validAuth));
        push(`query:${q}-bracketed`, `${realPath}?${q}[a]=1&${q}[]=2`, auth(validAuth));
      }
      push('query:unknown', `${realPath}?nope=1&__proto__=x&constructor=y`, auth(validAuth));
    }
    if (!hasBody) continue;

    const rawBodies: Array<[string, string]> = [
      ['malformed:truncated', '{"url":'],
      ['malformed:single-quotes', "{'name':'x'}"],
      ['malformed:trailing-comma', '{"a":1,}'],
      ['malformed:two-documents', '{"a":1}{"b":2}'],
      ['malformed:bare-word', 'nul'],
      ['malformed:nul-bytes', '\u0000\u0000'],
      ['malformed:empty', ''],
      ['malformed:whitespace', '   '],
      ['malformed:bom', '\ufeff{}'],
      ['malformed:lone-surrogate-escape', '{"name":"\\ud800"}'],
      ['malformed:bad-escape', '{"name":"\\x41"}'],
      ['proto:__proto__', JSON.stringify(baseBody).replace(/^\{/, '{"__proto__":{"isAdmin":true},')],
      ['proto:constructor', JSON.stringify({ ...baseBody, constructor: { prototype: { polluted: 1 } } })],
      ['top:array', '[]'],
      ['top:array-of-body', JSON.stringify([baseBody])],
      ['top:number', '42'],
      ['top:string', '"body"'],
      ['top:null', 'null'],
      ['top:true', 'true'],
      ['top:deep-array', deepArray(5000).text],
      ['top:deep-object', deepObject(5000).text],
      ['missing:everything', '{}'],
      ['extra:field', JSON.stringify({ ...baseBody, extra: 1 })],
      ['extra:unicode-key', JSON.stringify({ ...baseBody, 'ü😀\u0000': 'v' })],
      [
        'extra:many-fields',
        JSON.stringify({
          ...baseBody,
          ...Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`x${i}`, i])),
        }),
      ],
      ['full:valid', JSON.stringify(fullBody)],
      ['over-limit', JSON.stringify({ ...baseBody, padding: 'o'.repeat(maxBodyBytes + 1024) })],
    ];
    for (const [name, raw] of rawBodies) push(`body:${name}`, realPath, jsonHeaders(), raw);
    // Bodies also go to an id that is not the caller's.
    push(
      'body:valid-on-random-id',
      pathWith(Object.fromEntries(params.map((p) => [p, rng.uuid()]))),
      jsonHeaders(),
      JSON.stringify(baseBody),
    );

    // Every documented field: removed when required, then each wrong type in turn.
    for (const name of bodySchema?.required ?? []) {
      const { [name]: _removed, ...rest } = fullBody;
      push(`missing:${name}`, realPath, jsonHeaders(), JSON.stringify(rest));
    }
    for (const name of Object.keys(bodySchema?.properties ?? {})) {
      for (const [label, value] of wrongTypes) {
        push(`field:${name}=${label}`, realPath, jsonHeaders(), withField(baseBody, name, value));
      }
    }
    const stringFields = Object.entries(bodySchema?.properties ?? {})
      .filter(([, p]) => (resolve(p) ?? p).type === 'string')
      .map(([name]) => name);
    if (stringFields.length) {
      push(
        'field:all-strings-20k',
        realPath,
        jsonHeaders(),
        JSON.stringify({
          ...fullBody,
          ...Object.fromEntries(stringFields.map((f) => [f, 's'.repeat(20_000)])),
        }),
      );
    }

    // Content types and encodings.
    const contentTypes: Array<[string, Record<string, string>, string | undefined]> = [
      ['none', {}, JSON.stringify(baseBody)],
      ['text-plain', { 'content-type': 'text/plain' }, JSON.stringify(baseBody)],
      [
        'form',
        { 'content-type': 'application/x-www-form-urlencoded' },
        'url=http%3A%2F%2F127.0.0.1%3A1&name=x',
      ],
      [
        'multipart',
        { 'content-type': 'multipart/form-data; boundary=zz' },
        '--zz\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n--zz--',
      ],
      ['xml', { 'content-type': 'application/xml' }, '<a>1</a>'],
      ['json-utf16', { 'content-type': 'application/json; charset=utf-16' }, JSON.stringify(baseBody)],
      [
        'json-bogus-charset',
        { 'content-type': 'application/json; charset=bogus-8' },
        JSON.stringify(baseBody),
      ],
      ['json-latin1', { 'content-type': 'application/json; charset=latin1' }, JSON.stringify(baseBody)],
      ['json-garbage-params', { 'content-type': 'application/json;;;=;' }, JSON.stringify(baseBody)],
      ['vendor-json', { 'content-type': 'application/vnd.api+json' }, JSON.stringify(baseBody)],
      [
        'gzip-not-gzip',
        { 'content-type': 'application/json', 'content-encoding': 'gzip' },
        JSON.stringify(baseBody),
      ],
      ['deflate-not-deflate', { 'content-type': 'application/json', 'content-encoding': 'deflate' }, 'xx'],
      [
        'bogus-encoding',
        { 'content-type': 'application/json', 'content-encoding': 'bogus' },
        JSON.stringify(baseBody),
      ],
    ];
    for (const [name, headers, body] of contentTypes) {
      push(`content-type:${name}`, realPath, { ...auth(validAuth), ...headers }, body);
    }
  }
  return { requests, destructive };
}
