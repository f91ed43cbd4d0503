import { isISO8601, ValidateBy, ValidateIf, type ValidationOptions } from 'class-validator';
import { parseRfc3339 } from '../domain/cloud-event';
import { ATTRIBUTE_RULES, unstorableText } from '../domain/event-contract';
import { unboxed } from './raw-json';

/** Optional, but when present must be valid: unlike @IsOptional, `null` is checked (and refused). */
export const OptionalNotNull = () => ValidateIf((_object, value) => value !== undefined);

/**
 * A class-validator rule from a plain function that lists what is wrong with a value (nothing:
 * valid). The function sees a @RawJsonField's value as the client sent it, not its box.
 */
export function byRule(name: string, problems: (value: unknown) => string[], options?: ValidationOptions) {
  return ValidateBy(
    {
      name,
      validator: {
        validate: (value) => problems(unboxed(value)).length === 0,
        defaultMessage: (args) => problems(unboxed(args?.value)).join('; '),
      },
    },
    options,
  );
}

/** Present in the body, whatever its value: unlike @IsDefined, `null` passes. */
export const IsPresent = (message: string) =>
  byRule('isPresent', (value) => (value === undefined ? [message] : []));

/** A string PostgreSQL can store and give back as sent: no NUL, no unpaired surrogate. */
export const IsStorableText = (field: string) =>
  byRule('isStorableText', (value) => {
    if (typeof value !== 'string') return [];
    const problem = unstorableText(value);
    return problem === null ? [] : [`${field} ${problem}`];
  });

/**
 * An RFC 3339 date-time (with an offset; leap seconds, lower-case `t` and `z`, years 0000-9999):
 * the rule the input topic applies to `time`, so both edges accept the same times.
 */
export const IsRfc3339DateTime = (field: string) =>
  byRule('isRfc3339DateTime', (value) =>
    typeof value === 'string' && parseRfc3339(value) !== null ? [] : [`${field} ${ATTRIBUTE_RULES.time}`],
  );

/**
 * A time to filter by (`2025-06-01T10:00:00Z`, `2025-06-01`): ISO 8601 as class-validator's strict
 * rule reads it, and one JavaScript's Date can hold. The rule alone passes forms Date cannot read
 * (a week date, `2025-W01`), which reached PostgreSQL as an invalid date and failed the query.
 */
export const IsIsoTime = (field: string) =>
  byRule('isIsoTime', (value) =>
    typeof value === 'string' && isISO8601(value, { strict: true }) && !Number.isNaN(Date.parse(value))
      ? []
      : [`${field} must be an ISO 8601 time such as 2025-06-01T10:00:00Z`],
  );
