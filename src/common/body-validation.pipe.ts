import { ValidationPipe, type ArgumentMetadata } from '@nestjs/common';
import { RawJson, rawJsonFields } from './raw-json';

/**
 * The global ValidationPipe, except that fields marked @RawJsonField reach the controller exactly
 * as the client sent them (see RawJson): boxed before validation, unboxed after.
 */
export class BodyValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const fields = rawJsonFields(metadata.metatype);
    if (fields.length === 0 || !isPlainObject(value)) return super.transform(value, metadata);
    const boxed = fields.filter((field) => Object.hasOwn(value, field));
    // Own data properties named by the DTO (never `__proto__`): assigning them is safe.
    for (const field of boxed) value[field] = new RawJson(value[field]);
    const result: unknown = await super.transform(value, metadata);
    if (isPlainObject(result)) {
      for (const field of boxed) {
        const box = result[field];
        if (box instanceof RawJson) result[field] = box.value;
      }
    }
    return result;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
