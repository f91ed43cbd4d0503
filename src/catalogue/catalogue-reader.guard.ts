import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { AdminGuard, ApiKeyGuard } from '../tenants/auth';

/**
 * Reading the catalogue: any tenant's API key (it is the platform's one catalogue, the same for
 * every tenant), or the admin token of those who maintain it.
 */
@Injectable()
export class CatalogueReaderGuard implements CanActivate {
  constructor(
    private readonly admin: AdminGuard,
    private readonly apiKey: ApiKeyGuard,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    try {
      return this.admin.canActivate(context);
    } catch {
      return this.apiKey.canActivate(context);
    }
  }
}
