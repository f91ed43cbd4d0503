import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Patch,
  Post,
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
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { EventCatalogue } from '../catalogue/event-catalogue';
import { uncataloguedTypes } from '../domain/catalogue-schemas';
import { ApiKeyGuard } from '../tenants/auth/api-key.guard';
import { CurrentTenant } from '../tenants/auth/current-tenant.decorator';
import { CreateEndpointDto, RotateSecretDto, UpdateEndpointDto } from './dto/endpoint-input.dto';
import { MAX_PREVIOUS_SECRETS } from './secrets/signing-secrets';
import {
  EndpointDto,
  EndpointPageDto,
  EndpointSecretDto,
  ListEndpointsQuery,
} from './dto/endpoint-output.dto';
import { CLOSED_CIRCUIT } from './circuit-report';
import { EndpointHealthRepository } from './endpoint-health.repository';
import type { EndpointEntity } from './endpoint.entity';
import { toEndpointDto } from './endpoint.mapper';
import { EndpointsService } from './endpoints.service';

/** On an endpoint's create or change: its exact event types that the event catalogue does not list. */
export const UNCATALOGUED_HEADER = 'Uncatalogued-Event-Types';
const UNCATALOGUED_HEADER_DOC = {
  [UNCATALOGUED_HEADER]: {
    description: 'Exact eventTypes the event catalogue does not list (a warning; the endpoint is saved)',
    schema: { type: 'string' },
  },
};

/** Every endpoint write takes a token of the tenant's rate (EndpointWriteRate). */
const WRITE_RATE_DOC =
  "rate_limited: over the tenant's endpoint writes (HOOKSTREAM_TENANT_ENDPOINT_WRITE_RATE, creates, changes, " +
  'deletes and rotations together); Retry-After says when to try again.';

@ApiTags('endpoints')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'Missing, unknown or revoked API key.' })
@UseGuards(ApiKeyGuard)
@Controller('v1/endpoints')
export class EndpointsController {
  constructor(
    private readonly endpoints: EndpointsService,
    private readonly health: EndpointHealthRepository,
    private readonly catalogue: EventCatalogue,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Register an endpoint; its URL must not point at a private or reserved address.' })
  @ApiCreatedResponse({ type: EndpointDto, headers: UNCATALOGUED_HEADER_DOC })
  @ApiBadRequestResponse({ description: 'Invalid fields or a refused URL; `details` lists every problem.' })
  @ApiConflictResponse({
    description:
      'quota_exceeded: the tenant has HOOKSTREAM_MAX_ENDPOINTS_PER_TENANT endpoints already; delete one first.',
  })
  @ApiTooManyRequestsResponse({ description: WRITE_RATE_DOC })
  async create(
    @CurrentTenant() tenantId: string,
    @Body() body: CreateEndpointDto,
    @Res({ passthrough: true }) response: FastifyReply,
  ): Promise<EndpointDto> {
    const endpoint = await this.endpoints.create(tenantId, body);
    this.warnUncatalogued(response, endpoint.eventTypes);
    return this.present(endpoint);
  }

  @Get()
  @ApiOperation({ summary: 'List endpoints, oldest first, a page at a time.' })
  @ApiOkResponse({ type: EndpointPageDto })
  async list(
    @CurrentTenant() tenantId: string,
    @Query() query: ListEndpointsQuery,
  ): Promise<EndpointPageDto> {
    const page = await this.endpoints.list(tenantId, query.limit, query.cursor);
    return {
      data: await this.presentAll(page.endpoints),
      nextCursor: page.nextCursor,
    };
  }

  @Get(':id')
  @ApiOkResponse({ type: EndpointDto })
  @ApiNotFoundResponse({ description: 'No such endpoint for this tenant.' })
  async get(@CurrentTenant() tenantId: string, @Param('id') id: string): Promise<EndpointDto> {
    return this.present(await this.endpoints.get(tenantId, id));
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Change an endpoint; {"enabled": true} re-enables it and clears disabledReason.' })
  @ApiOkResponse({ type: EndpointDto, headers: UNCATALOGUED_HEADER_DOC })
  @ApiBadRequestResponse({ description: 'Invalid fields or a refused URL.' })
  @ApiNotFoundResponse({ description: 'No such endpoint for this tenant.' })
  @ApiConflictResponse({
    description:
      'ordering "strict" asked for while deliveries parked under its earlier strict ordering are still ' +
      'handed on (Retry-After: 10).',
  })
  @ApiTooManyRequestsResponse({ description: WRITE_RATE_DOC })
  async update(
    @CurrentTenant() tenantId: string,
    @Param('id') id: string,
    @Body() body: UpdateEndpointDto,
    @Res({ passthrough: true }) response: FastifyReply,
  ): Promise<EndpointDto> {
    const endpoint = await this.endpoints.update(tenantId, id, body);
    if (body.eventTypes !== undefined) this.warnUncatalogued(response, endpoint.eventTypes);
    return this.present(endpoint);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse()
  @ApiNotFoundResponse({ description: 'No such endpoint for this tenant.' })
  @ApiTooManyRequestsResponse({ description: WRITE_RATE_DOC })
  async remove(@CurrentTenant() tenantId: string, @Param('id') id: string): Promise<void> {
    await this.endpoints.remove(tenantId, id);
  }

  @Get(':id/secret')
  @ApiOperation({ summary: 'The current signing secret (Standard Webhooks whsec_ format).' })
  @ApiOkResponse({ type: EndpointSecretDto })
  @ApiNotFoundResponse({ description: 'No such endpoint for this tenant.' })
  @ApiConflictResponse({
    description:
      'The endpoint has a problem (its signing secret does not decrypt with the configured keys, say); ' +
      'the message says which. Rotating the secret fixes it.',
  })
  async secret(@CurrentTenant() tenantId: string, @Param('id') id: string): Promise<EndpointSecretDto> {
    return { key: await this.endpoints.currentSecret(tenantId, id) };
  }

  @Post(':id/secret/rotate')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Replace the signing secret; the previous one keeps signing beside it for the grace period ' +
      `(at most ${MAX_PREVIOUS_SECRETS} earlier secrets sign: past that, those expiring soonest are dropped; ` +
      'one that no configured key decrypts is dropped at once: rotating fixes such an endpoint).',
  })
  @ApiOkResponse({ type: EndpointSecretDto })
  @ApiBadRequestResponse({ description: 'gracePeriodSeconds is not a whole number from 0 to 604800.' })
  @ApiNotFoundResponse({ description: 'No such endpoint for this tenant.' })
  @ApiTooManyRequestsResponse({ description: WRITE_RATE_DOC })
  async rotate(
    @CurrentTenant() tenantId: string,
    @Param('id') id: string,
    @Body() body: RotateSecretDto,
  ): Promise<EndpointSecretDto> {
    return { key: await this.endpoints.rotateSecret(tenantId, id, body.gracePeriodSeconds) };
  }

  private async present(endpoint: EndpointEntity): Promise<EndpointDto> {
    return (await this.presentAll([endpoint]))[0];
  }

  /**
   * Exact event types the catalogue does not list: said in a header, not refused, because a
   * platform team may publish (and a client subscribe to) a type before it is catalogued.
   */
  private warnUncatalogued(response: FastifyReply, eventTypes: readonly string[]): void {
    const missing = uncataloguedTypes(eventTypes, this.catalogue);
    if (missing.length > 0) void response.header(UNCATALOGUED_HEADER, missing.join(', '));
  }

  /** Circuits from PostgreSQL, where the replica owning each endpoint keeps them (README decision 37). */
  private async presentAll(endpoints: EndpointEntity[]): Promise<EndpointDto[]> {
    const circuits = await this.health.circuitsOf(endpoints.map((endpoint) => endpoint.id));
    return endpoints.map((endpoint) =>
      toEndpointDto(
        endpoint,
        circuits.get(endpoint.id) ?? CLOSED_CIRCUIT,
        this.endpoints.problemOf(endpoint),
      ),
    );
  }
}
