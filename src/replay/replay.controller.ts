import { Body, Controller, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOperation,
  ApiResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { ApiKeyGuard, CurrentTenant } from '../tenants/auth';
import { TestEventResultDto, WindowReplayDto } from './dto/replay.dto';
import { ReplayJobDto } from './jobs/dto/replay-job.dto';
import { ReplayJobsService } from './jobs/replay-jobs.service';
import { ReplayService } from './replay.service';

@ApiTags('endpoints')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'Missing, unknown or revoked API key.' })
@ApiNotFoundResponse({ description: 'No such endpoint for this tenant.' })
@ApiConflictResponse({ description: 'The endpoint is disabled; enable it first.' })
@UseGuards(ApiKeyGuard)
@Controller('v1/endpoints/:id')
export class ReplayController {
  constructor(
    private readonly replay: ReplayService,
    private readonly jobs: ReplayJobsService,
  ) {}

  @Post('replay')
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Start a backfill job that re-delivers to this endpoint alone the events it is subscribed to that ' +
      'entered the input topics in [since, until). Same webhook-id as the original deliveries. Follow it ' +
      'with GET /v1/replay-jobs/:id.',
  })
  @ApiResponse({ status: 202, type: ReplayJobDto, description: 'The job, queued' })
  @ApiBadRequestResponse({ description: 'since in the future, until not after since, or past retention.' })
  @ApiTooManyRequestsResponse({ description: 'The tenant already has 10 replay jobs queued or running.' })
  replayWindow(
    @CurrentTenant() tenantId: string,
    @Param('id') endpointId: string,
    @Body() body: WindowReplayDto,
  ): Promise<ReplayJobDto> {
    return this.jobs.createWindowJob(tenantId, endpointId, body.since, body.until);
  }

  @Post('test')
  @HttpCode(202)
  @ApiOperation({ summary: 'Send a signed `hookstream.test` event to this endpoint alone.' })
  @ApiResponse({ status: 202, type: TestEventResultDto, description: 'Written to Kafka (acks=all)' })
  @ApiTooManyRequestsResponse({
    description:
      "Over the tenant's ingest rate (one event each, as POST /v1/events); Retry-After says when to try again",
  })
  async sendTest(
    @CurrentTenant() tenantId: string,
    @Param('id') endpointId: string,
  ): Promise<TestEventResultDto> {
    return { eventId: await this.replay.sendTestEvent(tenantId, endpointId) };
  }
}
