import { Controller, Get, Param, ParseUUIDPipe, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { ApiKeyGuard, CurrentTenant } from '../tenants/auth';
import { DEFAULT_PAGE_SIZE } from '../common/pagination';
import { AttemptDetailsDto, AttemptPageDto, ListAttemptsQueryDto } from './dto/attempt.dto';
import { AttemptsService } from './attempts.service';

@ApiTags('endpoints')
@ApiBearerAuth()
@UseGuards(ApiKeyGuard)
@Controller('v1/endpoints/:id/attempts')
export class AttemptsController {
  constructor(private readonly attempts: AttemptsService) {}

  @Get()
  @ApiOkResponse({
    type: AttemptPageDto,
    description: 'Delivery attempts, newest first, each response body an excerpt',
  })
  list(
    @CurrentTenant() tenantId: string,
    @Param('id', new ParseUUIDPipe()) endpointId: string,
    @Query() query: ListAttemptsQueryDto,
  ): Promise<AttemptPageDto> {
    return this.attempts.list(
      tenantId,
      endpointId,
      query.limit ?? DEFAULT_PAGE_SIZE,
      query.cursor,
      query.outcome,
    );
  }

  @Get(':attemptId')
  @ApiOkResponse({
    type: AttemptDetailsDto,
    description: 'One delivery attempt, with the whole response body',
  })
  get(
    @CurrentTenant() tenantId: string,
    @Param('id', new ParseUUIDPipe()) endpointId: string,
    @Param('attemptId') attemptId: string,
  ): Promise<AttemptDetailsDto> {
    return this.attempts.get(tenantId, endpointId, attemptId);
  }
}
