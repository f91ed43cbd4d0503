import type { OpenAPIObject } from '@nestjs/swagger';
import type { CatalogueEntry } from '../domain/catalogue-schemas';
import { withEventDataSchemas } from './openapi-components';

const DOCUMENT: OpenAPIObject = {
  openapi: '3.0.0',
  info: { title: 'Hookstream', version: '1' },
  paths: {},
  components: { schemas: { PublishEventDto: { type: 'object' } } },
};

const entry = (name: string, schema: unknown, overrides: Partial<CatalogueEntry> = {}): CatalogueEntry => ({
  name,
  schema: schema === null ? null : JSON.stringify(schema),
  validation: 'off',
  deprecated: false,
  version: 1,
  ...overrides,
});

describe('catalogued schemas in the OpenAPI document', () => {
  it('adds each type with a schema as an EventData.<type> component, leaving the shared document as it was', () => {
    const patched = withEventDataSchemas(DOCUMENT, [
      entry('order.created', { type: 'object', required: ['orderId'] }),
      entry('order.cancelled', { type: 'object' }, { deprecated: true, version: 3 }),
      entry('no.schema', null),
    ]);
    expect(patched.components?.schemas).toEqual({
      PublishEventDto: { type: 'object' },
      'EventData.order.created': { type: 'object', required: ['orderId'], 'x-event-type-version': 1 },
      'EventData.order.cancelled': { type: 'object', deprecated: true, 'x-event-type-version': 3 },
    });
    expect(Object.keys(DOCUMENT.components?.schemas ?? {})).toEqual(['PublishEventDto']);
  });
});
