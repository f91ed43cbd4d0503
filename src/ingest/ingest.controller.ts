import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiKeyGuard, CurrentTenant } from '../tenants/auth';
import { PublishEventDto, PublishedEventDto } from './dto/publish-event.dto';
import { IngestService } from './ingest.service';

@ApiTags('events')
@ApiBearerAuth()
@UseGuards(ApiKeyGuard)
@Controller('v1/events')
export class IngestController {
  constructor(private readonly ingest: IngestService) {}

  @Post()
  @HttpCode(202)
  @ApiResponse({ status: 202, type: PublishedEventDto, description: 'Accepted: written to Kafka (acks=all)' })
  @ApiResponse({
    status: 429,
    description: "Over the tenant's ingest rate; Retry-After says when to try again",
  })
  async publish(
    @CurrentTenant() tenantId: string,
    @Body() body: PublishEventDto,
  ): Promise<PublishedEventDto> {
    return { id: await this.ingest.publish(tenantId, body) };
  }
}
