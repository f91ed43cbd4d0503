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

/**
 * How much of a response body a list of attempts shows: a body is kept up to 64 KiB (by default), and JSON
 * escaping of control characters makes one up to 6 times longer, so a page of 100 whole bodies
 * could be 39 MB. The whole body is one attempt away (GET /v1/endpoints/:id/attempts/:attemptId).
 */
export const RESPONSE_EXCERPT_CHARS = 1024;

/** What every view of an attempt shows, the response body aside. */
abstract class AttemptFieldsDto {
  @ApiProperty({
    description: 'The attempt log’s id of this attempt (GET /v1/endpoints/:id/attempts/:attemptId)',
  })
  id!: string;
  @ApiProperty() eventId!: string;
  @ApiProperty() deliveryId!: string;
  @ApiProperty() attempt!: number;
  @ApiProperty({ enum: ['delivered', 'failed'] }) outcome!: string;
  @ApiProperty({ nullable: true, type: Number }) statusCode!: number | null;
  @ApiProperty({ nullable: true, type: String }) error!: string | null;
  @ApiProperty() latencyMs!: number;
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

/** An attempt as a list shows it (GET /v1/endpoints/:id/attempts, GET /v1/events/:id): a body excerpt. */
export class AttemptDto extends AttemptFieldsDto {
  @ApiProperty({
    nullable: true,
    type: String,
    description:
      `The start of the response body: at most its first ${RESPONSE_EXCERPT_CHARS.toLocaleString('en')} ` +
      'characters (responseBodyTruncated says whether there is more). The body as kept (up to ' +
      'HOOKSTREAM_RESPONSE_BODY_LIMIT, 64 KiB by default) is in GET /v1/endpoints/:id/attempts/:attemptId.',
  })
  responseBody!: string | null;
  @ApiProperty({ description: 'Whether responseBody is cut short here (the body as kept is longer)' })
  responseBodyTruncated!: boolean;
}

/** One attempt with its whole response body (GET /v1/endpoints/:id/attempts/:attemptId). */
export class AttemptDetailsDto extends AttemptFieldsDto {
  @ApiProperty({
    nullable: true,
    type: String,
    description:
      'The response body as kept: its start when the receiver answered more than ' +
      'HOOKSTREAM_RESPONSE_BODY_LIMIT (64 KiB by default)',
  })
  responseBody!: string | null;
}

export class AttemptPageDto {
  @ApiProperty({
    type: [AttemptDto],
    description: `Newest first. Each response body is an excerpt of at most ${RESPONSE_EXCERPT_CHARS.toLocaleString('en')} characters.`,
  })
  data!: AttemptDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}
