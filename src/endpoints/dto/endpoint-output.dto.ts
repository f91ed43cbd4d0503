import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import type { OrderingMode } from '../../domain/endpoint-snapshot';
import type { CircuitState } from '../../domain/circuit-breaker';

const STRING_MAP = { type: 'object', additionalProperties: { type: 'string' } } as const;

/** An endpoint as the API shows it; never carries a secret. */
export class EndpointDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() url!: string;
  @ApiProperty({ type: String, nullable: true }) description!: string | null;
  @ApiProperty({ type: [String] }) eventTypes!: string[];
  @ApiProperty({ enum: ['none', 'strict'] }) ordering!: OrderingMode;
  @ApiProperty() enabled!: boolean;
  @ApiProperty({ type: String, nullable: true, description: 'Why delivery disabled the endpoint.' })
  disabledReason!: string | null;
  @ApiProperty({
    type: String,
    nullable: true,
    description:
      'Why deliveries to this endpoint cannot be made although it exists (its signing secret ' +
      'does not decrypt with the configured keys, say), or null. Its deliveries are dead-lettered with ' +
      'the reason endpoint_unreadable until it is fixed (rotating its secret fixes it); replay them then.',
  })
  problem!: string | null;
  @ApiProperty({ enum: ['closed', 'open', 'half_open'] }) circuitState!: CircuitState;
  @ApiProperty({ description: 'Consecutive failed attempts.' }) failureCount!: number;
  @ApiProperty(STRING_MAP) headers!: Record<string, string>;
  @ApiProperty() maxConcurrency!: number;
  @ApiProperty(STRING_MAP) metadata!: Record<string, string>;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
}

export class EndpointPageDto {
  @ApiProperty({ type: [EndpointDto] }) data!: EndpointDto[];
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Pass as `cursor` for the next page; null at the end.',
  })
  nextCursor!: string | null;
}

export class EndpointSecretDto {
  @ApiProperty({ example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }) key!: string;
}

export class ListEndpointsQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 20 })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'limit must be a whole number' })
  @Min(1, { message: 'limit must be between 1 and 100' })
  @Max(100, { message: 'limit must be between 1 and 100' })
  limit?: number;

  @ApiPropertyOptional({ description: 'The nextCursor of the previous page.' })
  @IsOptional()
  @IsString()
  @MaxLength(500, { message: 'cursor is not valid' })
  cursor?: string;
}
