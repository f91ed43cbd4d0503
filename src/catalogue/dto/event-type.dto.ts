import { ApiProperty, ApiPropertyOptional, OmitType } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { PageQueryDto } from '../../common/page-query.dto';
import { RawJsonField } from '../../common/raw-json';
import { byRule, IsStorableText, OptionalNotNull } from '../../common/validation';
import { ATTRIBUTE_RULES, EVENT_TYPE_PATTERN, MAX_EVENT_TYPE_LENGTH } from '../../domain/event-contract';
import {
  MAX_SCHEMA_BYTES,
  MAX_SCHEMA_DEPTH,
  schemaShapeProblem,
  VALIDATION_MODES,
  type ValidationMode,
} from '../../domain/event-schema';

export const MAX_EVENT_TYPE_DESCRIPTION = 2000;

/** A schema's shape and bounds, checked before it reaches the compiler (the service compiles it). */
const IsSchemaShape = () =>
  byRule('isSchemaShape', (value) => {
    if (value === null) return [];
    const problem = schemaShapeProblem(value);
    return problem === null ? [] : [problem];
  });

/** What an admin sets on an event type (PUT replaces all of it; absent fields take their defaults). */
export class EventTypeFieldsDto {
  @ApiPropertyOptional({ maxLength: MAX_EVENT_TYPE_DESCRIPTION, example: 'An order was placed.' })
  @IsOptional()
  @IsString({ message: 'description must be a string' })
  @MaxLength(MAX_EVENT_TYPE_DESCRIPTION, {
    message: `description must be at most ${MAX_EVENT_TYPE_DESCRIPTION} characters`,
  })
  @IsStorableText('description')
  description?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    nullable: true,
    description:
      `JSON Schema (draft 2020-12) of the event's data; null or absent for none. At most ${MAX_SCHEMA_BYTES} ` +
      `bytes and ${MAX_SCHEMA_DEPTH} levels; unknown keywords and formats, and remote $refs, do not compile (400).`,
    example: { type: 'object', required: ['orderId'], properties: { orderId: { type: 'string' } } },
  })
  @RawJsonField()
  @IsOptional()
  @IsSchemaShape()
  schema?: unknown;

  @ApiPropertyOptional({
    enum: VALIDATION_MODES,
    default: 'off',
    description:
      'reject: POST /v1/events answers 400 for data failing the schema, and such an event produced to Kafka ' +
      'is dead-lettered as schema_mismatch. off: the schema is documentation only.',
  })
  @OptionalNotNull()
  @IsIn(VALIDATION_MODES, { message: 'validation must be "off" or "reject"' })
  validation?: ValidationMode;

  @ApiPropertyOptional({ default: false, description: 'Still accepted and delivered; listed as deprecated.' })
  @OptionalNotNull()
  @IsBoolean({ message: 'deprecated must be true or false' })
  deprecated?: boolean;
}

export class CreateEventTypeDto extends EventTypeFieldsDto {
  @ApiProperty({ example: 'order.created', description: `Event type; ${ATTRIBUTE_RULES.type}` })
  @IsString({ message: 'name must be a string' })
  @Matches(EVENT_TYPE_PATTERN, { message: `name ${ATTRIBUTE_RULES.type}` })
  name!: string;
}

export class EventTypeDto {
  @ApiProperty({ example: 'order.created' }) name!: string;
  @ApiProperty() description!: string;
  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true, description: 'As stored' })
  schema!: unknown;
  @ApiProperty({ enum: VALIDATION_MODES }) validation!: ValidationMode;
  @ApiProperty() deprecated!: boolean;
  @ApiProperty({ description: 'Starts at 1; moves on every change' }) version!: number;
  @ApiProperty() createdAt!: string;
  @ApiProperty() updatedAt!: string;
}

export class EventTypePageDto {
  @ApiProperty({ type: [EventTypeDto] }) data!: EventTypeDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}

/** The longest catalogue cursor: base64url of the longest name (ASCII), 4 characters per 3, unpadded. */
export const MAX_EVENT_TYPE_CURSOR_LENGTH = Math.ceil((MAX_EVENT_TYPE_LENGTH * 4) / 3);

/**
 * `?limit&cursor` of the catalogue. Its cursor is the last name, which can be longer than the
 * timestamp-and-id cursors PageQueryDto is sized for; with theirs, a name over 150 characters
 * gave a nextCursor the next request refused.
 */
export class EventTypePageQueryDto extends OmitType(PageQueryDto, ['cursor'] as const) {
  @ApiPropertyOptional({
    description: 'nextCursor of the previous page',
    maxLength: MAX_EVENT_TYPE_CURSOR_LENGTH,
  })
  @IsOptional()
  @IsString()
  @MaxLength(MAX_EVENT_TYPE_CURSOR_LENGTH)
  cursor?: string;
}
