import {
  Inject,
  Injectable,
  NotFoundException,
  SetMetadata,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';

const OPERATOR_ROUTE = 'hookstream:operator-route';

/**
 * Marks a controller (or handler) every process serves whatever its roles: health, metrics, the
 * ops API and the dashboard. Every other route is the REST API, served only with the `api` role.
 */
export const OperatorRoute = (): ClassDecorator & MethodDecorator => SetMetadata(OPERATOR_ROUTE, true);

/**
 * HOOKSTREAM_ROLES without `api`: the REST API answers 404, as if it were not there, so a fan-out
 * or delivery replica behind a load balancer by mistake serves no tenant (README Section A).
 * Registered globally, so it runs before any controller's own guards.
 */
@Injectable()
export class ApiRoleGuard implements CanActivate {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly reflector: Reflector,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http' || this.config.roles.has('api')) return true;
    const operator = this.reflector.getAllAndOverride<boolean>(OPERATOR_ROUTE, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (operator) return true;
    throw new NotFoundException(
      'this replica does not serve the REST API (HOOKSTREAM_ROLES has no api); send it to an api replica',
    );
  }
}
