import { Controller, Get, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { ApiKeyGuard, CurrentTenant } from '../../tenants/auth';
import { ListReplayJobsQueryDto, ReplayJobDto, ReplayJobPageDto } from './dto/replay-job.dto';
import { ReplayJobsService } from './replay-jobs.service';

@ApiTags('replay jobs')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'Missing, unknown or revoked API key.' })
@UseGuards(ApiKeyGuard)
@Controller('v1/replay-jobs')
export class ReplayJobsController {
  constructor(private readonly jobs: ReplayJobsService) {}

  @Get()
  @ApiOperation({ summary: 'List replay jobs (window backfills, dead-letter replays), newest first.' })
  @ApiOkResponse({ type: ReplayJobPageDto })
  list(@CurrentTenant() tenantId: string, @Query() query: ListReplayJobsQueryDto): Promise<ReplayJobPageDto> {
    return this.jobs.list(tenantId, query.limit, query.cursor);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One replay job: state, progress, counts and resume point.' })
  @ApiOkResponse({ type: ReplayJobDto })
  @ApiNotFoundResponse({ description: 'No such replay job for this tenant.' })
  get(@CurrentTenant() tenantId: string, @Param('id') id: string): Promise<ReplayJobDto> {
    return this.jobs.get(tenantId, id);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Cancel a replay job: a queued one at once, a running one after its current chunk.',
  })
  @ApiOkResponse({ type: ReplayJobDto })
  @ApiNotFoundResponse({ description: 'No such replay job for this tenant.' })
  @ApiConflictResponse({ description: 'The job has already succeeded or failed.' })
  cancel(@CurrentTenant() tenantId: string, @Param('id') id: string): Promise<ReplayJobDto> {
    return this.jobs.cancel(tenantId, id);
  }
}
