import { Controller, Get, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { ApiKeyGuard, CurrentTenant } from '../tenants/auth';
import { ReplayJobDto } from '../replay/jobs/dto/replay-job.dto';
import { DeadLettersService } from './dead-letters.service';
import { DeadLetterPageDto, ListDeadLettersQueryDto, ReplayedDto } from './dto/dead-letter.dto';

@ApiTags('dead letters')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'Missing, unknown or revoked API key.' })
@UseGuards(ApiKeyGuard)
@Controller('v1')
export class DeadLettersController {
  constructor(private readonly deadLetters: DeadLettersService) {}

  @Get('dead-letters')
  @ApiOperation({ summary: 'List dead letters, newest first, a page at a time.' })
  @ApiOkResponse({ type: DeadLetterPageDto })
  list(
    @CurrentTenant() tenantId: string,
    @Query() query: ListDeadLettersQueryDto,
  ): Promise<DeadLetterPageDto> {
    return this.deadLetters.list(tenantId, query);
  }

  @Post('dead-letters/:id/replay')
  @HttpCode(202)
  @ApiOperation({ summary: 'Deliver a dead letter again, as a first attempt with the same webhook-id.' })
  @ApiResponse({ status: 202, type: ReplayedDto, description: 'Written to Kafka (acks=all)' })
  @ApiNotFoundResponse({ description: 'No such dead letter for this tenant.' })
  @ApiTooManyRequestsResponse({
    description:
      "Over the tenant's ingest rate (one event each, as POST /v1/events); Retry-After says when to try again",
  })
  @ApiConflictResponse({
    description: 'Bad input (nothing to deliver), or the endpoint is disabled or gone.',
  })
  async replay(@CurrentTenant() tenantId: string, @Param('id') id: string): Promise<ReplayedDto> {
    return { replayed: await this.deadLetters.replay(tenantId, id) };
  }

  @Post('endpoints/:id/dead-letters/replay')
  @HttpCode(202)
  @ApiTags('endpoints')
  @ApiOperation({
    summary:
      'Start a job that delivers again every not-yet-replayed dead letter of this endpoint, oldest first. ' +
      'Follow it with GET /v1/replay-jobs/:id.',
  })
  @ApiResponse({ status: 202, type: ReplayJobDto, description: 'The job, queued' })
  @ApiNotFoundResponse({ description: 'No such endpoint for this tenant.' })
  @ApiConflictResponse({ description: 'The endpoint is disabled; enable it first.' })
  @ApiTooManyRequestsResponse({ description: 'The tenant already has 10 replay jobs queued or running.' })
  replayEndpoint(@CurrentTenant() tenantId: string, @Param('id') endpointId: string): Promise<ReplayJobDto> {
    return this.deadLetters.replayEndpoint(tenantId, endpointId);
  }
}
