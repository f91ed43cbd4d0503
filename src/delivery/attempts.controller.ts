import { Controller, Get, Param, ParseUUIDPipe, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { ApiKeyGuard, CurrentTenant } from '../tenants/auth';
import { AttemptPageDto, ListAttemptsQueryDto } from './dto/attempt.dto';
import { AttemptsQuery } from './attempts.query';

@ApiTags('endpoints')
@ApiBearerAuth()
@UseGuards(ApiKeyGuard)
@Controller('v1/endpoints/:id/attempts')
export class AttemptsController {
  constructor(private readonly attempts: AttemptsQuery) {}

  @Get()
  @ApiOkResponse({ type: AttemptPageDto, description: 'Delivery attempts, newest first' })
  list(
    @CurrentTenant() tenantId: string,
    @Param('id', new ParseUUIDPipe()) endpointId: string,
    @Query() query: ListAttemptsQueryDto,
  ): Promise<AttemptPageDto> {
    return this.attempts.list(tenantId, endpointId, query.limit ?? 20, query.cursor);
  }
}
