import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

export class ListAttemptsQueryDto {
  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 20 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;
}

export class AttemptDto {
  @ApiProperty() id!: string;
  @ApiProperty() eventId!: string;
  @ApiProperty() deliveryId!: string;
  @ApiProperty() attempt!: number;
  @ApiProperty({ enum: ['delivered', 'failed'] }) outcome!: string;
  @ApiProperty({ nullable: true, type: Number }) statusCode!: number | null;
  @ApiProperty({ nullable: true, type: String }) error!: string | null;
  @ApiProperty() latencyMs!: number;
  @ApiProperty({ nullable: true, type: String, description: 'Response body, cut at 64 KiB' })
  responseBody!: string | null;
  @ApiProperty() attemptedAt!: string;
}

export class AttemptPageDto {
  @ApiProperty({ type: [AttemptDto] }) data!: AttemptDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}
