import { Controller, Get, Param, Query, UseGuards } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { ApiKeyGuard } from '../tenants/auth';
import { EventTypeDto, EventTypePageDto, EventTypePageQueryDto } from './dto/event-type.dto';
import { toEventTypeDto } from './event-type.mapper';
import { EventTypesService } from './event-types.service';

/**
 * Reading the catalogue with any tenant's API key: it is the platform's one catalogue, the same
 * for every tenant (what the platform publishes, not what a tenant owns).
 */
@ApiTags('event types')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'Missing or wrong API key.' })
@UseGuards(ApiKeyGuard)
@Controller('v1/event-types')
export class EventTypesController {
  constructor(private readonly eventTypes: EventTypesService) {}

  @Get()
  @ApiOperation({ summary: 'The event catalogue, by name (any tenant API key).' })
  @ApiOkResponse({ type: EventTypePageDto })
  async list(@Query() query: EventTypePageQueryDto): Promise<EventTypePageDto> {
    const { rows, next } = await this.eventTypes.list(query.limit, query.cursor);
    return { data: rows.map(toEventTypeDto), nextCursor: next };
  }

  @Get(':name')
  @ApiOperation({ summary: 'One event type with its schema (any tenant API key).' })
  @ApiOkResponse({ type: EventTypeDto })
  @ApiNotFoundResponse({ description: 'No such event type.' })
  async get(@Param('name') name: string): Promise<EventTypeDto> {
    return toEventTypeDto(await this.eventTypes.get(name));
  }
}
