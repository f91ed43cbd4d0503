import { Body, Controller, Delete, HttpCode, Param, Post, Put, Res, UseGuards } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { AdminGuard } from '../tenants/auth';
import { CreateEventTypeDto, EventTypeDto, EventTypeFieldsDto } from './dto/event-type.dto';
import { toEventTypeDto } from './event-type.mapper';
import { EventTypesService } from './event-types.service';

/** Writing the platform's event catalogue: the admin token only (a tenant key is 401). */
@ApiTags('event types')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'Missing or wrong admin token.' })
@UseGuards(AdminGuard)
@Controller('v1/event-types')
export class EventTypesAdminController {
  constructor(private readonly eventTypes: EventTypesService) {}

  @Post()
  @ApiOperation({ summary: 'Catalogue an event type (admin token).' })
  @ApiCreatedResponse({ type: EventTypeDto })
  @ApiBadRequestResponse({
    description: "Invalid fields, or a schema that does not compile (the compiler's message).",
  })
  @ApiConflictResponse({ description: 'The type is catalogued already (PUT replaces it).' })
  async create(@Body() body: CreateEventTypeDto): Promise<EventTypeDto> {
    return toEventTypeDto(await this.eventTypes.create(body.name, body));
  }

  @Put(':name')
  @ApiOperation({
    summary: 'Create or replace an event type (admin token); the version moves only when something changed.',
  })
  @ApiOkResponse({ type: EventTypeDto, description: 'Replaced (or unchanged).' })
  @ApiCreatedResponse({ type: EventTypeDto, description: 'Created.' })
  @ApiBadRequestResponse({
    description: "Invalid fields, or a schema that does not compile (the compiler's message).",
  })
  async put(
    @Param('name') name: string,
    @Body() body: EventTypeFieldsDto,
    @Res({ passthrough: true }) response: FastifyReply,
  ): Promise<EventTypeDto> {
    const { row, created } = await this.eventTypes.put(name, body);
    void response.status(created ? 201 : 200);
    return toEventTypeDto(row);
  }

  @Delete(':name')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Remove an event type from the catalogue (admin token); its events are no longer validated.',
  })
  @ApiNoContentResponse()
  @ApiNotFoundResponse({ description: 'No such event type.' })
  async remove(@Param('name') name: string): Promise<void> {
    await this.eventTypes.remove(name);
  }
}
