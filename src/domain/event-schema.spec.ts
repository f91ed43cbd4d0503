import {
  compileEventSchema,
  describeMismatch,
  MAX_SCHEMA_BYTES,
  MAX_SCHEMA_DEPTH,
  schemaShapeProblem,
  type EventValidator,
} from './event-schema';

const ORDER = {
  type: 'object',
  required: ['orderId', 'customer'],
  properties: {
    orderId: { type: 'string' },
    customer: {
      type: 'object',
      required: ['email'],
      properties: { email: { type: 'string', format: 'email' }, 'a/b': { type: 'integer' } },
    },
    lines: { type: 'array', items: { type: 'object', properties: { qty: { type: 'integer', minimum: 1 } } } },
  },
};

function validatorOf(schema: unknown): EventValidator {
  const compiled = compileEventSchema(schema);
  if (!compiled.ok) throw new Error(compiled.message);
  return compiled.validate;
}

describe('event payload schemas', () => {
  const validate = validatorOf(ORDER);

  it('accepts data that satisfies the schema', () => {
    expect(validate({ orderId: 'o1', customer: { email: 'a@example.com' }, lines: [{ qty: 2 }] })).toBeNull();
  });

  it('names the JSON Pointer of the first failing value', () => {
    expect(
      validate({ orderId: 'o1', customer: { email: 'a@example.com' }, lines: [{ qty: 2 }, { qty: 0 }] }),
    ).toEqual({
      path: '/lines/1/qty',
      message: 'must be >= 1',
    });
    expect(validate({ orderId: 'o1', customer: { email: 'not an email' } })).toEqual({
      path: '/customer/email',
      message: 'must match format "email"',
    });
    expect(validate({ orderId: 'o1', customer: { email: 'a@example.com', 'a/b': 1.5 } })).toEqual({
      path: '/customer/a~1b',
      message: 'must be integer',
    });
  });

  it('names a missing property in the path', () => {
    expect(validate({ orderId: 'o1', customer: {} })).toEqual({
      path: '/customer/email',
      message: 'is required',
    });
    expect(validate(null)).toEqual({ path: '', message: 'must be object' });
  });

  it('says which type, version and path in one line, for the 400 and the dead letter alike', () => {
    expect(describeMismatch('order.created', 3, { path: '/customer/email', message: 'is required' })).toBe(
      'data/customer/email is required (schema of event type order.created, version 3)',
    );
  });

  it('compiles each version on its own, so a new version may keep its $id', () => {
    const v1 = validatorOf({ $id: 'https://example.com/order', type: 'object' });
    const v2 = validatorOf({ $id: 'https://example.com/order', type: 'array' });
    expect([v1({}), v2([])]).toEqual([null, null]);
  });

  it.each([
    [{ type: 'objekt' }, /schema does not compile: .*type/],
    [
      { type: 'object', requried: ['a'] },
      /schema does not compile: strict mode: unknown keyword: "requried"/,
    ],
    [
      { type: 'string', format: 'no-such-format' },
      /schema does not compile: unknown format "no-such-format"/,
    ],
    [{ $ref: 'https://example.com/remote.json' }, /schema does not compile: can't resolve reference/],
    [{ type: 'string', pattern: '(' }, /schema does not compile: .*Invalid regular expression/],
  ])('refuses %j with the compiler message', (schema, message) => {
    const compiled = compileEventSchema(schema);
    expect(compiled.ok).toBe(false);
    expect(compiled.ok ? '' : compiled.message).toMatch(message);
  });

  it('bounds a schema in kind, depth and size before compiling it', () => {
    expect(schemaShapeProblem(true)).toBeNull();
    expect(schemaShapeProblem(ORDER)).toBeNull();
    expect(schemaShapeProblem([])).toMatch(/must be a JSON Schema/);
    expect(schemaShapeProblem('{"type":"object"}')).toMatch(/must be a JSON Schema/);
    let deep: Record<string, unknown> = { type: 'object' };
    for (let level = 0; level < MAX_SCHEMA_DEPTH; level++) deep = { properties: { a: deep } };
    expect(schemaShapeProblem(deep)).toBe(`schema is nested deeper than ${MAX_SCHEMA_DEPTH} levels`);
    const wide = { type: 'object', description: 'x'.repeat(MAX_SCHEMA_BYTES) };
    expect(schemaShapeProblem(wide)).toMatch(new RegExp(`over the limit of ${MAX_SCHEMA_BYTES}`));
    expect(compileEventSchema(wide)).toEqual({ ok: false, message: expect.stringMatching(/over the limit/) });
  });
});
