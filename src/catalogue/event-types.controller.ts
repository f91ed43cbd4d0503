import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Post,
  Put,
  Query,
  Res,
  UseGuards,
} from '@nestjs/common';
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
import type { Response } from 'express';
import { PageQueryDto } from '../common/page-query.dto';
import { AdminGuard } from '../tenants/auth';
import { CatalogueReaderGuard } from './catalogue-reader.guard';
import { CreateEventTypeDto, EventTypeDto, EventTypeFieldsDto, EventTypePageDto } from './dto/event-type.dto';
import type { EventTypeRow } from './event-types.repository';
import { EventTypesService } from './event-types.service';

/** The platform's event types: written with the admin token, read with any tenant's API key. */
@ApiTags('event types')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'Missing or wrong token (writes need the admin token).' })
@Controller('v1/event-types')
export class EventTypesController {
  constructor(private readonly eventTypes: EventTypesService) {}

  @Post()
  @UseGuards(AdminGuard)
  @ApiOperation({ summary: 'Catalogue an event type (admin token).' })
  @ApiCreatedResponse({ type: EventTypeDto })
  @ApiBadRequestResponse({
    description: "Invalid fields, or a schema that does not compile (the compiler's message).",
  })
  @ApiConflictResponse({ description: 'The type is catalogued already (PUT replaces it).' })
  async create(@Body() body: CreateEventTypeDto): Promise<EventTypeDto> {
    return toDto(await this.eventTypes.create(body.name, body));
  }

  @Put(':name')
  @UseGuards(AdminGuard)
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
    @Res({ passthrough: true }) response: Response,
  ): Promise<EventTypeDto> {
    const { row, created } = await this.eventTypes.put(name, body);
    response.status(created ? 201 : 200);
    return toDto(row);
  }

  @Delete(':name')
  @HttpCode(204)
  @UseGuards(AdminGuard)
  @ApiOperation({
    summary: 'Remove an event type from the catalogue (admin token); its events are no longer validated.',
  })
  @ApiNoContentResponse()
  @ApiNotFoundResponse({ description: 'No such event type.' })
  async remove(@Param('name') name: string): Promise<void> {
    await this.eventTypes.remove(name);
  }

  @Get()
  @UseGuards(CatalogueReaderGuard)
  @ApiOperation({ summary: 'The event catalogue, by name (any tenant API key, or the admin token).' })
  @ApiOkResponse({ type: EventTypePageDto })
  async list(@Query() query: PageQueryDto): Promise<EventTypePageDto> {
    const { rows, next } = await this.eventTypes.list(query.limit, query.cursor);
    return { data: rows.map(toDto), nextCursor: next };
  }

  @Get(':name')
  @UseGuards(CatalogueReaderGuard)
  @ApiOperation({ summary: 'One event type with its schema (any tenant API key, or the admin token).' })
  @ApiOkResponse({ type: EventTypeDto })
  @ApiNotFoundResponse({ description: 'No such event type.' })
  async get(@Param('name') name: string): Promise<EventTypeDto> {
    return toDto(await this.eventTypes.get(name));
  }
}

function toDto(row: EventTypeRow): EventTypeDto {
  return {
    name: row.name,
    description: row.description,
    schema: row.schema === null ? null : (JSON.parse(row.schema) as unknown),
    validation: row.validation,
    deprecated: row.deprecated,
    version: row.version,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
