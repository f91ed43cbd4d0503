import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { PageQueryDto } from '../../common/page-query.dto';

export const ATTEMPT_OUTCOMES = ['delivered', 'failed'] as const;

export class ListAttemptsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: ATTEMPT_OUTCOMES, description: 'Only attempts with this outcome' })
  @IsOptional()
  @IsIn(ATTEMPT_OUTCOMES, { message: 'outcome must be delivered or failed' })
  outcome?: (typeof ATTEMPT_OUTCOMES)[number];
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
  @ApiProperty({
    nullable: true,
    type: Number,
    description:
      'The webhook-timestamp header this attempt was sent with (webhook-id is the eventId; the body is ' +
      'the event as in GET /v1/events/:id). Null for attempts logged before it was kept.',
  })
  webhookTimestamp!: number | null;
  @ApiProperty({ nullable: true, type: String, description: 'The webhook-signature header sent' })
  webhookSignature!: string | null;
}

export class AttemptPageDto {
  @ApiProperty({ type: [AttemptDto] }) data!: AttemptDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}
