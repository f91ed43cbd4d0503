import { applyDecorators } from '@nestjs/common';
import { ValidateBy, ValidateIf, type ValidationOptions } from 'class-validator';
import { isValidSecret } from '../secrets/secret-cipher';
import { eventTypeProblems, headerProblems, metadataProblems } from '../validation/endpoint-rules';

/** Optional, but when present must be valid: unlike @IsOptional, `null` is checked (and refused). */
export const OptionalNotNull = () => ValidateIf((_object, value) => value !== undefined);

function byRule(name: string, problems: (value: unknown) => string[], options?: ValidationOptions) {
  return ValidateBy(
    {
      name,
      validator: {
        validate: (value) => problems(value).length === 0,
        defaultMessage: (args) => problems(args?.value).join('; '),
      },
    },
    options,
  );
}

export const IsEventTypeList = () => applyDecorators(byRule('isEventTypeList', eventTypeProblems));
export const IsHeaderMap = () => applyDecorators(byRule('isHeaderMap', headerProblems));
export const IsMetadataMap = () => applyDecorators(byRule('isMetadataMap', metadataProblems));
export const IsWebhookSecret = () =>
  applyDecorators(
    byRule('isWebhookSecret', (value) =>
      typeof value === 'string' && isValidSecret(value)
        ? []
        : ['secret must be "whsec_" followed by base64 of 24 to 64 random bytes'],
    ),
  );
