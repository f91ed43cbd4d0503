import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsDefined, IsISO8601, IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';

export class PublishEventDto {
  @ApiProperty({ example: 'record.updated', description: 'Event type; letters, digits, . _ -' })
  @IsString()
  @MinLength(1)
  @MaxLength(256)
  @Matches(/^[A-Za-z0-9_.-]+$/, { message: 'type may hold only letters, digits, ".", "_" and "-"' })
  type!: string;

  @ApiProperty({
    description: 'The event payload (any JSON value)',
    example: { recordId: 'r_1', status: 'active' },
  })
  @IsDefined({ message: 'data is required (use null for no payload)' })
  data!: unknown;

  @ApiPropertyOptional({ description: 'Unique event id; becomes webhook-id. Generated when absent.' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(256)
  id?: string;

  @ApiPropertyOptional({
    example: '/billing',
    description: 'CloudEvents source; defaults to /hookstream/api',
  })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(256)
  source?: string;

  @ApiPropertyOptional({ description: 'RFC 3339 event time; defaults to now' })
  @IsOptional()
  @IsISO8601({ strict: true })
  time?: string;
}

export class PublishedEventDto {
  @ApiProperty()
  id!: string;
}
