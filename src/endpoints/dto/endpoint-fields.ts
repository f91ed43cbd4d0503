import { applyDecorators } from '@nestjs/common';
import { byRule, OptionalNotNull } from '../../common/validation';
import { isValidSecret } from '../secrets/secret-cipher';
import { eventTypeProblems, headerProblems, metadataProblems } from '../validation/endpoint-rules';

export { OptionalNotNull };

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
