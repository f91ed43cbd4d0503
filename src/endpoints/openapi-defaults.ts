import type { OpenAPIObject } from '@nestjs/swagger';
import { CreateEndpointDto } from './dto/endpoint-input.dto';

type SchemaWithProperties = { properties?: Record<string, object> };

/**
 * The document with the create body's `maxConcurrency` default set to the configured one
 * (HOOKSTREAM_ENDPOINT_MAX_CONCURRENCY): the decorators run before the configuration is read, so
 * they cannot know it. The document is copied, never changed.
 */
export function withConfiguredDefaults(
  document: OpenAPIObject,
  defaultMaxConcurrency: number,
): OpenAPIObject {
  const schemas = document.components?.schemas ?? {};
  const create = schemas[CreateEndpointDto.name] as SchemaWithProperties | undefined;
  const property = create?.properties?.maxConcurrency;
  if (create === undefined || property === undefined) return document;
  const properties = {
    ...create.properties,
    maxConcurrency: { ...property, default: defaultMaxConcurrency },
  };
  return {
    ...document,
    components: {
      ...document.components,
      schemas: { ...schemas, [CreateEndpointDto.name]: { ...create, properties } },
    },
  };
}
