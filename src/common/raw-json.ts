import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';

/**
 * A body field that holds the client's own JSON (event `data`, endpoint `metadata` and `headers`),
 * boxed while ValidationPipe works so it comes out exactly as parsed. ValidationPipe deletes
 * `__proto__`, `constructor` and `prototype` keys at every level, and class-transformer's copy
 * drops keys that name an Object.prototype method (`toString`): both would change the client's
 * data silently. The box has no enumerable property, so neither looks inside it; JSON.parse made
 * the keys own data properties, and nothing later merges them into an object whose prototype matters.
 */
export class RawJson {
  readonly #value: unknown;

  constructor(value: unknown) {
    this.#value = value;
  }

  get value(): unknown {
    return this.#value;
  }
}

/** The value inside a RawJson box, or the value itself. */
export function unboxed(value: unknown): unknown {
  return value instanceof RawJson ? value.value : value;
}

const RAW_JSON_FIELDS = Symbol('rawJsonFields');

/** Marks the property as client JSON kept as parsed (see RawJson); subclasses inherit the mark. */
export const RawJsonField = (): PropertyDecorator =>
  applyDecorators(
    (target: object, property: string | symbol) => {
      const inherited = (Reflect.getMetadata(RAW_JSON_FIELDS, target) as string[] | undefined) ?? [];
      Reflect.defineMetadata(RAW_JSON_FIELDS, [...inherited, String(property)], target);
    },
    // The box itself, not class-transformer's (empty) copy of it.
    Transform(({ obj, key }: { obj: Record<string, unknown>; key: string }) => obj[key]),
  );

/** The RawJson fields of a DTO class (none for anything else). */
export function rawJsonFields(metatype: unknown): readonly string[] {
  if (typeof metatype !== 'function') return [];
  const prototype = (metatype as { prototype?: unknown }).prototype;
  if (typeof prototype !== 'object' || prototype === null) return [];
  return (Reflect.getMetadata(RAW_JSON_FIELDS, prototype) as string[] | undefined) ?? [];
}
