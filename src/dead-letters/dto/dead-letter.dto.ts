import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsUUID } from 'class-validator';
import { PageQueryDto } from '../../common/page-query.dto';
import { IsIsoTime } from '../../common/validation';

export class ListDeadLettersQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ format: 'uuid', description: 'Only this endpoint’s dead letters' })
  @IsOptional()
  @IsUUID()
  endpointId?: string;

  @ApiPropertyOptional({ description: 'Dead-lettered at or after this time (ISO 8601)' })
  @IsOptional()
  @IsIsoTime('since')
  since?: string;

  @ApiPropertyOptional({ description: 'Dead-lettered before this time (ISO 8601)' })
  @IsOptional()
  @IsIsoTime('until')
  until?: string;
}

export class DeadLetterDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ nullable: true, type: String, description: 'Null for bad input (no endpoint matched yet)' })
  endpointId!: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'The event id: the webhook-id of a replay' })
  eventId!: string | null;
  @ApiProperty({ nullable: true, type: String }) eventType!: string | null;
  @ApiProperty({ nullable: true, type: String }) deliveryId!: string | null;
  @ApiProperty({
    example: 'attempts_exhausted',
    description:
      'attempts_exhausted, max_age_exceeded, endpoint_disabled, endpoint_unreadable (its secret does not ' +
      'decrypt), invalid_delivery_record, handler_failed (a record Hookstream could not handle), or for ' +
      'bad input: invalid_json, missing_attribute, invalid_attribute, too_large, unsupported_specversion, ' +
      'unsupported_content_type, unknown_tenant, tenant_key_mismatch, tenant_not_allowed_on_topic (its topic may ' +
      'not carry that tenant), reserved_type (a hookstream.* type Hookstream did not publish), ' +
      'schema_mismatch (data fails its type schema in the catalogue)',
  })
  reason!: string;
  @ApiProperty({ nullable: true, type: String }) lastError!: string | null;
  @ApiProperty({ description: 'Delivery attempts made before dead-lettering' }) attempts!: number;
  @ApiProperty({ description: 'When it was dead-lettered' }) createdAt!: string;
  @ApiProperty({ nullable: true, type: String, description: 'When it was last replayed' })
  replayedAt!: string | null;
}

export class DeadLetterPageDto {
  @ApiProperty({ type: [DeadLetterDto] }) data!: DeadLetterDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}

export class ReplayedDto {
  @ApiProperty({ description: 'Dead letters written again as deliveries' }) replayed!: number;
}
