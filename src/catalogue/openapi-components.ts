import type { OpenAPIObject } from '@nestjs/swagger';
import type { CatalogueEntry } from '../domain/catalogue-schemas';

/** The component name of a type's data schema: event type names are valid component names as they are. */
export const eventDataComponent = (type: string): string => `EventData.${type}`;

/**
 * The OpenAPI document with each catalogued type's data schema as a component, built per request
 * from the in-memory catalogue, so a type added after boot shows without a restart. The schemas are
 * JSON Schema 2020-12 as the admin wrote them; Nest's document is OpenAPI 3.0, whose schema objects
 * are a subset, so a strict 3.0 validator may flag 2020-12-only keywords (`$defs`, `const`, ...).
 * The document is copied, never changed: it is shared by every request.
 */
export function withEventDataSchemas(
  document: OpenAPIObject,
  entries: readonly CatalogueEntry[],
): OpenAPIObject {
  const schemas: Record<string, unknown> = { ...(document.components?.schemas ?? {}) };
  for (const entry of entries) {
    if (entry.schema === null) continue;
    const schema = JSON.parse(entry.schema) as unknown;
    schemas[eventDataComponent(entry.name)] =
      typeof schema === 'object' && schema !== null
        ? {
            ...schema,
            ...(entry.deprecated ? { deprecated: true } : {}),
            'x-event-type-version': entry.version,
          }
        : schema;
  }
  return { ...document, components: { ...document.components, schemas: schemas as never } };
}
