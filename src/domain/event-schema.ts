import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { jsonValueProblem } from './event-contract';

/**
 * The event catalogue's payload schemas: JSON Schema draft 2020-12, compiled by ajv into a
 * function once per schema version, then run against each event's `data`. Pure: no I/O, and the
 * compiled function is only called, never recompiled, on the hot path.
 */

/** What the catalogue does with an event whose data fails its type's schema. */
export const VALIDATION_MODES = ['off', 'reject'] as const;
export type ValidationMode = (typeof VALIDATION_MODES)[number];

/**
 * Bounds on a schema, which is input too (an admin's, but hostile input is refused everywhere,
 * issue 15): its JSON at most this many bytes, nested at most this deep. ajv generates code in
 * proportion to the schema, so the bound on the schema bounds compile time and memory.
 */
export const MAX_SCHEMA_BYTES = 64 * 1024;
export const MAX_SCHEMA_DEPTH = 32;

/** Where an event's data failed its schema: a JSON Pointer into `data` ('' is data itself). */
export interface SchemaMismatch {
  path: string;
  message: string;
}

/** Null when `data` satisfies the schema, else the first failure (not all: it is cheaper). */
export type EventValidator = (data: unknown) => SchemaMismatch | null;

export type CompiledSchema = { ok: true; validate: EventValidator } | { ok: false; message: string };

/** Why `schema` cannot be a payload schema before it is even compiled, or null. */
export function schemaShapeProblem(schema: unknown): string | null {
  if (
    typeof schema !== 'boolean' &&
    (typeof schema !== 'object' || schema === null || Array.isArray(schema))
  ) {
    return 'schema must be a JSON Schema: an object (or true/false)';
  }
  const depthProblem = jsonValueProblem(schema, MAX_SCHEMA_DEPTH);
  if (depthProblem !== null) return `schema ${depthProblem}`;
  const bytes = Buffer.byteLength(JSON.stringify(schema));
  if (bytes > MAX_SCHEMA_BYTES) return `schema is ${bytes} bytes, over the limit of ${MAX_SCHEMA_BYTES}`;
  return null;
}

/**
 * Compiles a schema, or says why it does not compile in the compiler's words. Each schema gets an
 * Ajv instance of its own: ajv keeps every schema it compiled, keyed by `$id`, so one shared
 * instance would refuse a new version that keeps its `$id` and would hold every old version
 * forever. Remote `$ref`s are not fetched (no loadSchema), so they fail to compile.
 */
export function compileEventSchema(schema: unknown): CompiledSchema {
  const shape = schemaShapeProblem(schema);
  if (shape !== null) return { ok: false, message: shape };
  const ajv = new Ajv2020({
    // Unknown keywords and formats are refused: a typo ("requried") would otherwise check nothing.
    strictSchema: true,
    // Type and tuple hints are advice, not errors; ajv would log them to the console.
    strictTypes: false,
    strictTuples: false,
    strictRequired: false,
    allErrors: false,
    logger: false,
  });
  addFormats(ajv);
  let compiled: ValidateFunction;
  try {
    compiled = ajv.compile(schema as object | boolean);
  } catch (error) {
    return { ok: false, message: `schema does not compile: ${(error as Error).message}` };
  }
  return {
    ok: true,
    validate: (data) => (compiled(data) ? null : mismatchOf(compiled.errors?.[0])),
  };
}

/** The failing path and the compiler's message; a missing property is named in the path itself. */
function mismatchOf(error: ErrorObject | undefined): SchemaMismatch {
  if (error === undefined) return { path: '', message: 'does not match the schema' };
  if (error.keyword === 'required') {
    const missing = (error.params as { missingProperty: string }).missingProperty;
    return { path: `${error.instancePath}/${escapePointer(missing)}`, message: 'is required' };
  }
  return { path: error.instancePath, message: error.message ?? `fails "${error.keyword}"` };
}

function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** The one text both edges give: the REST 400 and the dead letter's `hs-reason-detail`. */
export function describeMismatch(type: string, version: number, mismatch: SchemaMismatch): string {
  return `data${mismatch.path} ${mismatch.message} (schema of event type ${type}, version ${version})`;
}
