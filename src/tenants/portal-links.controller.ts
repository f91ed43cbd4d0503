import { Body, Controller, Delete, HttpCode, Inject, Param, Post, Req, UseGuards } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { DomainError } from '../common/domain-error';
import { AdminGuard } from './auth/admin.guard';
import { PortalLinks } from './auth/portal-links';
import { CreatePortalLinkDto, PortalLinkDto } from './dto/portal-link.dto';
import { TenantsRepository } from './tenants.repository';
import { TenantsService } from './tenants.service';

@ApiTags('tenants')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'Missing or wrong admin token.' })
@UseGuards(AdminGuard)
@Controller('v1/tenants/:id/portal-links')
export class PortalLinksController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly tenants: TenantsRepository,
    private readonly tenantsService: TenantsService,
    private readonly links: PortalLinks,
  ) {}

  @Post()
  @ApiOperation({
    summary:
      'A short-lived link that signs a browser into the tenant portal as this tenant (admin token), so the ' +
      'platform can embed the portal without handing out an API key.',
  })
  @ApiCreatedResponse({ type: PortalLinkDto })
  @ApiBadRequestResponse({ description: 'expiresInSeconds past HOOKSTREAM_PORTAL_LINK_MAX_TTL.' })
  @ApiNotFoundResponse({ description: 'No such tenant.' })
  async create(
    @Param('id') tenantId: string,
    @Body() body: CreatePortalLinkDto,
    @Req() request: FastifyRequest,
  ): Promise<PortalLinkDto> {
    const maxSeconds = Math.floor(this.config.portal.linkMaxTtlMs / 1000);
    if (body.expiresInSeconds !== undefined && body.expiresInSeconds > maxSeconds) {
      throw DomainError.invalid('expiresInSeconds is too long', [
        `expiresInSeconds must be at most ${maxSeconds} (HOOKSTREAM_PORTAL_LINK_MAX_TTL)`,
      ]);
    }
    const issuedAt = await this.tenants.portalLinkIssueTime(tenantId);
    if (issuedAt === null) throw DomainError.notFound('tenant');
    const ttlMs = body.expiresInSeconds === undefined ? undefined : body.expiresInSeconds * 1000;
    const { token, expiresAt } = this.links.mint(tenantId.toLowerCase(), issuedAt, ttlMs);
    // The token goes in the fragment: browsers never send it, so no access log or proxy sees it.
    const url = `${request.protocol}://${request.host || 'localhost'}/portal#token=${token}`;
    return { url, token, expiresAt: expiresAt.toISOString() };
  }

  @Delete()
  @HttpCode(204)
  @ApiOperation({
    summary:
      'Void every portal link of the tenant issued until now (admin token): they are refused 401 at once on ' +
      'this process and within about a second on every other replica and worker. Links minted afterwards ' +
      "work; the tenant's API keys are untouched.",
  })
  @ApiNoContentResponse()
  @ApiNotFoundResponse({ description: 'No such tenant.' })
  async voidAll(@Param('id') tenantId: string): Promise<void> {
    await this.tenantsService.voidPortalLinks(tenantId);
  }
}
