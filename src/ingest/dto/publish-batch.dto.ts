import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { RawJsonField } from '../../common/raw-json';
import { byRule } from '../../common/validation';
import { PublishEventDto } from './publish-event.dto';

/** Most events in one `POST /v1/events/batch`; the body is also bounded by HOOKSTREAM_MAX_BODY_BYTES. */
export const MAX_BATCH_EVENTS = 500;

export class PublishBatchDto {
  /** Read by DepthLimitPipe: each event's nesting and numbers are checked by itself (IngestBatch). */
  static readonly requestLists = ['events'];

  @ApiProperty({
    type: [PublishEventDto],
    minItems: 1,
    maxItems: MAX_BATCH_EVENTS,
    description: `1 to ${MAX_BATCH_EVENTS} events, each as for POST /v1/events; each is checked on its own`,
  })
  // Each event is validated by itself (IngestBatch), so one bad event refuses only itself.
  @RawJsonField()
  @byRule('isEventList', (value) =>
    Array.isArray(value) && value.length >= 1 && value.length <= MAX_BATCH_EVENTS
      ? []
      : [`events must be an array of 1 to ${MAX_BATCH_EVENTS} events`],
  )
  events!: unknown[];
}

export class BatchEventResultDto {
  @ApiProperty({ description: 'Position of the event in the request' })
  index!: number;

  @ApiProperty({
    description:
      'What POST /v1/events would have answered for this event alone: 202 accepted, 200 a repeat of an ' +
      'event already accepted (nothing published), 400/409/413/422/429/503 refused',
  })
  status!: number;

  @ApiPropertyOptional({ description: 'The event id, for an accepted or repeated event' })
  id?: string;

  @ApiPropertyOptional({ description: 'The error code, for a refused event' })
  error?: string;

  @ApiPropertyOptional({ description: 'Why the event was refused' })
  message?: string;

  @ApiPropertyOptional({ type: [String] })
  details?: string[];

  @ApiPropertyOptional({
    description: 'For 409, 429 and 503: seconds to wait before sending this event again (as Retry-After)',
  })
  retryAfterSeconds?: number;
}

export class PublishedBatchDto {
  @ApiProperty({ description: 'Events written to Kafka (status 202)' })
  accepted!: number;

  @ApiProperty({ description: 'Events refused (status >= 400); repeats (200) are neither' })
  rejected!: number;

  @ApiProperty({ type: [BatchEventResultDto], description: 'One result per event, in request order' })
  results!: BatchEventResultDto[];
}
