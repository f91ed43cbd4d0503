import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches } from 'class-validator';
import { RawJsonField } from '../../common/raw-json';
import { byRule, IsPresent, IsRfc3339DateTime } from '../../common/validation';
import {
  ATTRIBUTE_RULES,
  attributeTextProblem,
  EVENT_ID_PATTERN,
  EVENT_TYPE_PATTERN,
} from '../../domain/event-contract';

/** `source` and `subject`: one line of storable text (the rule the input topic applies too). */
const IsAttributeText = (field: string) =>
  byRule('isAttributeText', (value) => {
    if (typeof value !== 'string') return [`${field} must be a string`];
    const problem = attributeTextProblem(value);
    return problem === null ? [] : [`${field} ${problem}`];
  });

export class PublishEventDto {
  @ApiProperty({ example: 'record.updated', description: 'Event type; letters, digits, . _ -' })
  @IsString()
  @Matches(EVENT_TYPE_PATTERN, { message: `type ${ATTRIBUTE_RULES.type}` })
  type!: string;

  @ApiProperty({
    description: 'The event payload: any JSON value (null for none), delivered exactly as sent',
    example: { recordId: 'r_1', status: 'active' },
  })
  @RawJsonField()
  @IsPresent('data is required (use null for no payload)')
  data!: unknown;

  @ApiPropertyOptional({
    description: 'Unique event id, visible ASCII; becomes webhook-id. Generated when absent.',
    maxLength: 256,
  })
  @IsOptional()
  @IsString()
  @Matches(EVENT_ID_PATTERN, { message: `id ${ATTRIBUTE_RULES.id}` })
  id?: string;

  @ApiPropertyOptional({
    example: '/billing',
    description: 'CloudEvents source; defaults to /hookstream/api',
    maxLength: 256,
  })
  @IsOptional()
  @IsAttributeText('source')
  source?: string;

  @ApiPropertyOptional({ example: 'invoice/in_42', description: 'CloudEvents subject', maxLength: 256 })
  @IsOptional()
  @IsAttributeText('subject')
  subject?: string;

  @ApiPropertyOptional({
    example: 'customer/c_7',
    description:
      'CloudEvents partitioning extension: deliveries with the same key go in order (default: subject)',
    maxLength: 256,
  })
  @IsOptional()
  @IsAttributeText('partitionkey')
  partitionkey?: string;

  @ApiPropertyOptional({
    example: '2025-06-01T12:00:00Z',
    description: 'RFC 3339 event time with an offset (years 0000-9999); defaults to now',
  })
  @IsOptional()
  @IsRfc3339DateTime('time')
  time?: string;
}

export class PublishedEventDto {
  @ApiProperty()
  id!: string;
}
