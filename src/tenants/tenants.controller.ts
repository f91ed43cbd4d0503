import { Body, Controller, Delete, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { AdminGuard } from './auth/admin.guard';
import { ApiKeyListDto, CreatedApiKeyDto, CreatedTenantDto, CreateTenantDto } from './dto/tenant.dto';
import { TenantsService } from './tenants.service';

@ApiTags('tenants')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'Missing or wrong admin token.' })
@UseGuards(AdminGuard)
@Controller('v1/tenants')
export class TenantsController {
  constructor(private readonly tenants: TenantsService) {}

  @Post()
  @ApiOperation({ summary: 'Create a tenant and its first API key (admin token).' })
  @ApiCreatedResponse({ type: CreatedTenantDto })
  async create(@Body() body: CreateTenantDto): Promise<CreatedTenantDto> {
    const { tenant, apiKey, apiKeyId } = await this.tenants.create(body.name);
    return { id: tenant.id, name: tenant.name, createdAt: tenant.createdAt.toISOString(), apiKey, apiKeyId };
  }

  @Post(':id/keys')
  @ApiOperation({ summary: 'Issue another API key for a tenant (admin token).' })
  @ApiCreatedResponse({ type: CreatedApiKeyDto })
  @ApiNotFoundResponse({ description: 'No such tenant.' })
  async addKey(@Param('id') tenantId: string): Promise<CreatedApiKeyDto> {
    const { entity, apiKey } = await this.tenants.addKey(tenantId);
    return { id: entity.id, apiKey, prefix: entity.prefix, createdAt: entity.createdAt.toISOString() };
  }

  @Get(':id/keys')
  @ApiOperation({
    summary: "A tenant's API keys, newest first: id, prefix, created and revoked (admin token).",
  })
  @ApiOkResponse({ type: ApiKeyListDto })
  @ApiNotFoundResponse({ description: 'No such tenant.' })
  async listKeys(@Param('id') tenantId: string): Promise<ApiKeyListDto> {
    const keys = await this.tenants.keys(tenantId);
    return {
      keys: keys.map((key) => ({
        id: key.id,
        prefix: key.prefix,
        createdAt: key.createdAt.toISOString(),
        revokedAt: key.revokedAt?.toISOString() ?? null,
      })),
    };
  }

  @Delete(':id/keys/:keyId')
  @HttpCode(204)
  @ApiOperation({
    summary:
      'Revoke an API key (admin token); it stops working at once on this process and within about a ' +
      'second on every other replica and worker.',
  })
  @ApiNoContentResponse()
  @ApiNotFoundResponse({ description: 'No such key for this tenant.' })
  async revokeKey(@Param('id') tenantId: string, @Param('keyId') keyId: string): Promise<void> {
    await this.tenants.revokeKey(tenantId, keyId);
  }
}
