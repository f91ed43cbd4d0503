import { Body, Controller, Headers, HttpCode, Post, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { DomainError } from '../common/domain-error';
import { IDEMPOTENCY_KEY_PATTERN, IDEMPOTENCY_KEY_RULE } from '../domain/idempotency';
import { ApiKeyGuard, CurrentTenant } from '../tenants/auth';
import { MAX_BATCH_EVENTS, PublishBatchDto, PublishedBatchDto } from './dto/publish-batch.dto';
import { PublishEventDto, PublishedEventDto } from './dto/publish-event.dto';
import { IngestBatch } from './ingest-batch';
import { IngestService } from './ingest.service';

/** Set on the answer to a request whose idempotency key an earlier request already published. */
export const REPLAYED_HEADER = 'Idempotent-Replayed';

@ApiTags('events')
@ApiBearerAuth()
@UseGuards(ApiKeyGuard)
@Controller('v1/events')
export class IngestController {
  constructor(
    private readonly ingest: IngestService,
    private readonly batch: IngestBatch,
  ) {}

  @Post('batch')
  @HttpCode(202)
  @ApiResponse({
    status: 202,
    type: PublishedBatchDto,
    description:
      `Up to ${MAX_BATCH_EVENTS} events, each answered by itself in \`results\` (a refused event does not ` +
      'fail the others); idempotent per event by its `id`; each event counts against the ingest rate',
  })
  @ApiResponse({ status: 400, description: 'The envelope is bad: `events` is not an array of 1-500' })
  async publishBatch(
    @CurrentTenant() tenantId: string,
    @Body() body: PublishBatchDto,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
  ): Promise<PublishedBatchDto> {
    if (idempotencyKey !== undefined) {
      // One key cannot stand for many events; each event's `id` is its key.
      throw DomainError.invalid('Idempotency-Key is not accepted on a batch: give each event an id instead');
    }
    return this.batch.publish(tenantId, body.events);
  }

  @Post()
  @HttpCode(202)
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description:
      'Publishes the event once per key and tenant within HOOKSTREAM_IDEMPOTENCY_WINDOW (24 h by default). ' +
      'Without it the event `id` is the key; with neither, every request is a new event. 1-255 visible ASCII.',
  })
  @ApiResponse({ status: 202, type: PublishedEventDto, description: 'Accepted: written to Kafka (acks=all)' })
  @ApiResponse({
    status: 200,
    type: PublishedEventDto,
    description:
      'A repeat of a request already accepted with this key: the first event id; nothing is published',
    headers: { [REPLAYED_HEADER]: { description: 'Always "true" on a repeat', schema: { type: 'string' } } },
  })
  @ApiResponse({
    status: 409,
    description: 'A request with this key is being published now; Retry-After says when to retry',
  })
  @ApiResponse({
    status: 422,
    description: 'This key was used for a different request body within the window',
  })
  @ApiResponse({
    status: 429,
    description: "Over the tenant's ingest rate; Retry-After says when to try again",
  })
  @ApiResponse({
    status: 503,
    description: 'Kafka did not confirm the write, or PostgreSQL (idempotency keys) is unavailable',
  })
  async publish(
    @CurrentTenant() tenantId: string,
    @Body() body: PublishEventDto,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) response: FastifyReply,
  ): Promise<PublishedEventDto> {
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY_PATTERN.test(idempotencyKey)) {
      throw DomainError.invalid(`Idempotency-Key ${IDEMPOTENCY_KEY_RULE}`);
    }
    const answer = await this.ingest.publish(tenantId, body, idempotencyKey);
    if (answer.replayed) void response.status(200).header(REPLAYED_HEADER, 'true');
    return { id: answer.id };
  }
}
