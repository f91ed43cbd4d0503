import { Controller, Get, UseGuards } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { ApiKeyGuard, CurrentTenant } from '../tenants/auth';
import { EndpointStatsPageDto } from './dto/endpoint-stats.dto';
import { EndpointStatsService } from './endpoint-stats.service';

@ApiTags('endpoints')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'Missing, unknown or revoked API key, or an expired portal link.' })
@UseGuards(ApiKeyGuard)
@Controller('v1/endpoint-stats')
export class EndpointStatsController {
  constructor(private readonly stats: EndpointStatsService) {}

  @Get()
  @ApiOperation({
    summary:
      'Every endpoint over the last hour, in 5-minute buckets: success rate, p95 latency, circuit state, ' +
      'held and dead-lettered counts.',
  })
  @ApiOkResponse({ type: EndpointStatsPageDto })
  lastHour(@CurrentTenant() tenantId: string): Promise<EndpointStatsPageDto> {
    return this.stats.lastHour(tenantId);
  }
}
