import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsIn, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { PageQueryDto } from '../../common/page-query.dto';
import { FEED_ORDERS, TYPE_PATTERN, type FeedOrder } from '../../domain/event-feed';
import { AttemptDto } from '../../delivery/dto/attempt.dto';
import { IsIsoTime } from '../../common/validation';

const MAX_TYPE_PATTERNS = 20;

/** `?types=a.*,b` or `?types=a.*&types=b`: one list either way, entries trimmed, empty ones left out. */
const commaList = ({ value }: { value: unknown }): unknown =>
  (Array.isArray(value) ? value : [value]).flatMap((item: unknown) =>
    typeof item === 'string'
      ? item
          .split(',')
          .map((entry) => entry.trim())
          .filter((entry) => entry !== '')
      : [item],
  );

export class ListEventsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({
    enum: FEED_ORDERS,
    default: 'oldest',
    description:
      'oldest: the feed, oldest first; nextCursor lists what came since, for polling. newest: the ' +
      'newest events first, nextCursor paging back towards the oldest kept (null once there are no ' +
      'older events); for showing the latest. Both list the same events with the same filters; a ' +
      'cursor is only valid in the order it came from.',
  })
  @IsOptional()
  @IsIn(FEED_ORDERS, { message: 'order must be "oldest" or "newest"' })
  order?: FeedOrder;

  @ApiPropertyOptional({
    type: String,
    example: 'record.*,status.changed',
    description: `Event types, comma-separated: exact types, prefixes like \`record.*\`, or \`*\` (at most ${MAX_TYPE_PATTERNS})`,
  })
  @IsOptional()
  @Transform(commaList)
  @IsArray()
  @ArrayMaxSize(MAX_TYPE_PATTERNS)
  @IsString({ each: true })
  @MaxLength(200, { each: true })
  @Matches(TYPE_PATTERN, {
    each: true,
    message: 'types entries must be an exact type like "record.updated", a prefix like "record.*", or "*"',
  })
  types?: string[];

  @ApiPropertyOptional({
    description:
      'Received at or after this time (ISO 8601). from and to are found by where the feed wrote the ' +
      'events, allowing 5 minutes between receipt and write: an event written later than that (a ' +
      'replica cut off from PostgreSQL while others were not) may be missed here, and is listed without them.',
  })
  @IsOptional()
  @IsIsoTime('from')
  from?: string;

  @ApiPropertyOptional({ description: 'Received before this time (ISO 8601)' })
  @IsOptional()
  @IsIsoTime('to')
  to?: string;
}

export class EventDto {
  @ApiProperty({ description: 'The producer’s event id: the webhook-id of its deliveries' }) id!: string;
  @ApiProperty() type!: string;
  @ApiProperty() source!: string;
  @ApiProperty({ nullable: true, type: String }) subject!: string | null;
  @ApiProperty({ description: 'The event’s own time, as delivered' }) time!: string;
  @ApiProperty({ description: 'When Hookstream’s fan-out accepted it; `from`/`to` and retention use it' })
  receivedAt!: string;
  @ApiProperty({ description: 'The event’s data, as delivered', nullable: true }) data!: unknown;
}

export class EventPageDto {
  @ApiProperty({ type: [EventDto], description: 'Oldest first; newest first with order=newest' })
  data!: EventDto[];
  @ApiProperty({
    nullable: true,
    type: String,
    description:
      'Where the next page starts: after the last event of this page, or the position given when the ' +
      'page is empty. Kept and passed again later, it lists only events the feed took since (none is ' +
      'ever added behind it). Opaque and bound to the tenant. Null only for an empty first page. With ' +
      'order=newest: the next older page, passed back with order=newest; null when hasMore is false.',
  })
  nextCursor!: string | null;
  @ApiProperty({
    description: 'Whether more events were listable when this page was read (with order=newest: older ones)',
  })
  hasMore!: boolean;
  @ApiProperty({
    description:
      'True when retention (HOOKSTREAM_EVENTS_RETENTION) deleted events after the given cursor before ' +
      'they were read: this page continues with the oldest kept, and the ones deleted are lost to the ' +
      'feed. Reconcile that span another way (the events are still in the input topic or your own ' +
      'records), or restart with from=. Always false without a cursor, and with order=newest.',
  })
  gap!: boolean;
}

/** An attempt as `GET /v1/events/:id` lists it: a listed attempt, named apart for generated clients. */
export class EventAttemptDto extends AttemptDto {}

export class EventDeliveryDto {
  @ApiProperty({ format: 'uuid' }) endpointId!: string;
  @ApiProperty({ nullable: true, type: String, description: 'Null once the endpoint is deleted' })
  url!: string | null;
  @ApiProperty({
    enum: ['pending', 'retrying', 'delivered', 'held', 'parked', 'dead_lettered'],
    description:
      'pending: not attempted yet; retrying: failed attempts, waiting in a retry tier; held: waiting in ' +
      'PostgreSQL for the endpoint to take deliveries; parked: behind a strict endpoint’s failing ' +
      'delivery; dead_lettered: attempts spent (replayable); delivered: a 2xx was received',
  })
  state!: string;
  @ApiProperty({
    type: [EventAttemptDto],
    description:
      'Oldest first; the newest of this endpoint’s attempts when not all are listed (attemptsLeftOut). ' +
      'One answer lists at most 200 attempts over all endpoints, shared in turns: each endpoint’s ' +
      'newest, then each one’s second newest, and so on. The state counts every attempt, listed or not.',
  })
  attempts!: EventAttemptDto[];
  @ApiProperty({ description: 'Attempts of this event at this endpoint in the attempt log, listed or not' })
  attemptCount!: number;
  @ApiProperty({
    description:
      'How many of this endpoint’s older attempts are not listed in attempts (0 when all are); ' +
      'GET /v1/endpoints/:id/attempts pages through all of them',
  })
  attemptsLeftOut!: number;
}

export class EventDetailsDto extends EventDto {
  @ApiProperty({
    type: [EventDeliveryDto],
    description:
      'Each endpoint that matches the event (and existed when it was received), and any other with ' +
      'attempts or dead letters of it',
  })
  deliveries!: EventDeliveryDto[];
}
