import { CatalogueSchemas, uncataloguedTypes, type CatalogueEntry } from './catalogue-schemas';

const entry = (overrides: Partial<CatalogueEntry> = {}): CatalogueEntry => ({
  name: 'order.created',
  schema: JSON.stringify({ type: 'object', required: ['orderId'] }),
  validation: 'reject',
  deprecated: false,
  version: 1,
  ...overrides,
});

describe('CatalogueSchemas', () => {
  it('refuses data failing a reject-mode schema, naming the path, type and version', () => {
    const schemas = new CatalogueSchemas();
    schemas.apply(entry());
    expect(schemas.check('order.created', { orderId: 'o1' })).toBeNull();
    expect(schemas.check('order.created', {})).toEqual({
      detail: 'data/orderId is required (schema of event type order.created, version 1)',
    });
  });

  it('lets anything through for an uncatalogued type, validation off, or no schema', () => {
    const schemas = new CatalogueSchemas();
    schemas.replaceAll([
      entry({ name: 'a.off', validation: 'off' }),
      entry({ name: 'a.none', schema: null, validation: 'off' }),
    ]);
    expect([schemas.check('a.off', {}), schemas.check('a.none', {}), schemas.check('other', {})]).toEqual([
      null,
      null,
      null,
    ]);
  });

  it('recompiles only when the version moves', () => {
    const schemas = new CatalogueSchemas();
    schemas.apply(entry());
    // Same version, other schema text: the compiled function of version 1 is kept.
    schemas.apply(entry({ schema: JSON.stringify({ type: 'array' }), deprecated: true }));
    expect(schemas.check('order.created', { orderId: 'o1' })).toBeNull();
    expect(schemas.get('order.created')?.deprecated).toBe(true);
    schemas.replaceAll([entry({ schema: JSON.stringify({ type: 'array' }), version: 2 })]);
    expect(schemas.check('order.created', { orderId: 'o1' })?.detail).toBe(
      'data must be array (schema of event type order.created, version 2)',
    );
  });

  it('forgets removed types, on their own or by a full reload', () => {
    const schemas = new CatalogueSchemas();
    schemas.replaceAll([entry(), entry({ name: 'b' })]);
    schemas.remove('order.created');
    expect(schemas.check('order.created', {})).toBeNull();
    schemas.replaceAll([]);
    expect(schemas.has('b')).toBe(false);
  });

  it('validates nothing with a stored schema that does not compile, and reports it', () => {
    const schemas = new CatalogueSchemas();
    schemas.apply(entry({ schema: JSON.stringify({ type: 'objekt' }) }));
    expect(schemas.check('order.created', {})).toBeNull();
    expect([...schemas.problems().keys()]).toEqual(['order.created']);
    schemas.apply(entry({ version: 2 }));
    expect(schemas.problems().size).toBe(0);
  });
});

describe('uncataloguedTypes', () => {
  it('lists the exact types the catalogue lacks, never patterns, and nothing while it is empty', () => {
    const schemas = new CatalogueSchemas();
    expect(uncataloguedTypes(['a.b'], schemas)).toEqual([]);
    schemas.apply(entry({ name: 'order.created', validation: 'off' }));
    expect(uncataloguedTypes(['order.created', 'order.typo', 'order.*', '*'], schemas)).toEqual([
      'order.typo',
    ]);
  });
});
