import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { RawJsonField } from '../../common/raw-json';
import { IsStorableText } from '../../common/validation';
import { MAX_ENDPOINT_CONCURRENCY, type OrderingMode } from '../../domain/endpoint-snapshot';
import { MAX_URL_LENGTH } from '../ssrf/endpoint-url';
import {
  MAX_DESCRIPTION_LENGTH,
  MAX_EVENT_TYPES,
  MAX_HEADERS,
  MAX_METADATA_KEYS,
} from '../validation/endpoint-rules';
import {
  IsEventTypeList,
  IsHeaderMap,
  IsMetadataMap,
  IsWebhookSecret,
  OptionalNotNull,
} from './endpoint-fields';

const ORDERINGS: OrderingMode[] = ['none', 'strict'];
const STRING_MAP = { type: 'object', additionalProperties: { type: 'string' } } as const;

const MAX_DISABLED_REASON_LENGTH = 500;
const MAX_CONCURRENCY_RANGE = `maxConcurrency must be between 1 and ${MAX_ENDPOINT_CONCURRENCY}`;

/** Fields a client may set at creation and change with PATCH. */
class EndpointSettingsDto {
  @ApiPropertyOptional({ nullable: true, maxLength: MAX_DESCRIPTION_LENGTH })
  @IsOptional()
  @IsString({ message: 'description must be a string' })
  @MaxLength(MAX_DESCRIPTION_LENGTH, {
    message: `description must be at most ${MAX_DESCRIPTION_LENGTH} characters`,
  })
  @IsStorableText('description')
  description?: string | null;

  @ApiPropertyOptional({
    type: [String],
    maxItems: MAX_EVENT_TYPES,
    example: ['record.updated', 'status.*'],
    description: 'Exact event types, prefixes like "record.*", or ["*"] (the default) for every event.',
  })
  @OptionalNotNull()
  @IsEventTypeList()
  eventTypes?: string[];

  @ApiPropertyOptional({
    enum: ORDERINGS,
    description:
      '"strict" holds later deliveries behind a failing one: of the whole stream with maxConcurrency 1 ' +
      '(the default for strict), of the same ordering key (partitionkey, else subject) above 1.',
  })
  @OptionalNotNull()
  @IsIn(ORDERINGS, { message: 'ordering must be "none" or "strict"' })
  ordering?: OrderingMode;

  @ApiPropertyOptional({ description: 'Setting true re-enables an endpoint and clears disabledReason.' })
  @OptionalNotNull()
  @IsBoolean({ message: 'enabled must be true or false' })
  enabled?: boolean;

  @ApiPropertyOptional({
    ...STRING_MAP,
    maxProperties: MAX_HEADERS,
    description: 'Extra request headers; hop-by-hop, framing and webhook-* headers are refused.',
    example: { 'X-Api-Key': 'abc' },
  })
  @RawJsonField()
  @OptionalNotNull()
  @IsHeaderMap()
  headers?: Record<string, string>;

  // No `default` here: PATCH has none, and on create it is the server's configured value, which
  // the served document fills in (withConfiguredDefaults).
  @ApiPropertyOptional({
    minimum: 1,
    maximum: MAX_ENDPOINT_CONCURRENCY,
    description:
      'Concurrent requests to this endpoint. 1 delivers the whole stream in order; above 1, ' +
      'deliveries with the same ordering key (the event partitionkey, else subject) still go one at a ' +
      "time in order, other keys and keyless events in parallel. Default on create: the server's " +
      'HOOKSTREAM_ENDPOINT_MAX_CONCURRENCY (1 unless configured), and 1 with ordering "strict".',
  })
  @OptionalNotNull()
  @IsInt({ message: 'maxConcurrency must be a whole number' })
  @Min(1, { message: MAX_CONCURRENCY_RANGE })
  @Max(MAX_ENDPOINT_CONCURRENCY, { message: MAX_CONCURRENCY_RANGE })
  maxConcurrency?: number;

  @ApiPropertyOptional({ ...STRING_MAP, maxProperties: MAX_METADATA_KEYS, example: { team: 'billing' } })
  @RawJsonField()
  @OptionalNotNull()
  @IsMetadataMap()
  metadata?: Record<string, string>;
}

export class CreateEndpointDto extends EndpointSettingsDto {
  @ApiProperty({ maxLength: MAX_URL_LENGTH, example: 'https://example.com/webhooks' })
  @IsString({ message: 'url must be a string' })
  url!: string;

  @ApiPropertyOptional({
    description:
      'Your own signing secret: "whsec_" + base64 of 24 to 64 random bytes. Generated when absent.',
    example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  })
  @OptionalNotNull()
  @IsWebhookSecret()
  secret?: string;
}

export class UpdateEndpointDto extends EndpointSettingsDto {
  @ApiPropertyOptional({ maxLength: MAX_URL_LENGTH, example: 'https://example.com/webhooks' })
  @OptionalNotNull()
  @IsString({ message: 'url must be a string' })
  url?: string;

  @ApiPropertyOptional({
    maxLength: MAX_DISABLED_REASON_LENGTH,
    example: 'receiver migrating to the new cluster',
    description: 'With {"enabled": false}: why, shown as disabledReason (default "disabled by the client").',
  })
  @OptionalNotNull()
  @IsString({ message: 'disabledReason must be a string' })
  @MaxLength(MAX_DISABLED_REASON_LENGTH, {
    message: `disabledReason must be at most ${MAX_DISABLED_REASON_LENGTH} characters`,
  })
  @IsStorableText('disabledReason')
  disabledReason?: string;
}

export class RotateSecretDto {
  @ApiPropertyOptional({
    minimum: 0,
    maximum: 604800,
    default: 86400,
    description: 'How long the previous secret keeps signing beside the new one.',
  })
  @OptionalNotNull()
  @IsInt({ message: 'gracePeriodSeconds must be a whole number' })
  @Min(0, { message: 'gracePeriodSeconds must be between 0 and 604800 (7 days)' })
  @Max(604800, { message: 'gracePeriodSeconds must be between 0 and 604800 (7 days)' })
  gracePeriodSeconds?: number;
}
