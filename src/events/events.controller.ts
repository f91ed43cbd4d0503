import { Controller, Get, Param, Query, UseGuards } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { DEFAULT_PAGE_SIZE } from '../common/pagination';
import { ApiKeyGuard, CurrentTenant } from '../tenants/auth';
import { EventDetailsDto, EventPageDto, ListEventsQueryDto } from './dto/event.dto';
import { EventsService } from './events.service';

/** `POST /v1/events` is the ingest module's; these read what the fan-out took (the feed). */
@ApiTags('events')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'Missing, unknown or revoked API key.' })
@UseGuards(ApiKeyGuard)
@Controller('v1/events')
export class EventsController {
  constructor(private readonly events: EventsService) {}

  @Get()
  @ApiOperation({
    summary:
      'The events feed, oldest first: every event published for this tenant, matched by an endpoint or ' +
      'not, kept for HOOKSTREAM_EVENTS_RETENTION. Keep nextCursor and ask again to get what came since. ' +
      'With order=newest, the same events newest first, nextCursor paging back to older ones.',
  })
  @ApiOkResponse({ type: EventPageDto })
  @ApiBadRequestResponse({
    description:
      'A bad types pattern, time, limit, order or cursor, named; a cursor of another tenant, or of the ' +
      'other order, is refused.',
  })
  @ApiServiceUnavailableResponse({
    description:
      'The page took longer than 5 s to read (a statement timeout): retry after Retry-After, or narrow ' +
      'the read with from/to or exact types.',
  })
  list(@CurrentTenant() tenantId: string, @Query() query: ListEventsQueryDto): Promise<EventPageDto> {
    return this.events.list(tenantId, query, query.limit ?? DEFAULT_PAGE_SIZE);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One event, and where it stands at each endpoint, with the attempts.' })
  @ApiOkResponse({ type: EventDetailsDto })
  @ApiNotFoundResponse({ description: 'No such event in this tenant’s feed (or past retention).' })
  get(@CurrentTenant() tenantId: string, @Param('id') id: string): Promise<EventDetailsDto> {
    return this.events.get(tenantId, id);
  }
}
