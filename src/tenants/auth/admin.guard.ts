import { Injectable, SetMetadata, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { DomainError } from '../../common/domain-error';
import { AuthBrake, clientAddress } from './auth-brake';
import { bearerToken } from './bearer-token';
import { OperatorCredentials, type OperatorRequest } from './operator-credentials';

const OPS_TOKEN_ADMITTED = 'hookstream:ops-token-admitted';

/**
 * Marks an operator route that changes nothing and reveals no secret: AdminGuard admits the
 * read-only ops token there too (HOOKSTREAM_OPS_TOKEN). Unmarked routes take the admin token only.
 */
export const OpsTokenAdmitted = (): MethodDecorator & ClassDecorator => SetMetadata(OPS_TOKEN_ADMITTED, true);

/**
 * Admits requests carrying `Authorization: Bearer $HOOKSTREAM_ADMIN_TOKEN` (or one of
 * HOOKSTREAM_ADMIN_TOKEN_PREVIOUS), and the ops token on routes marked `@OpsTokenAdmitted()`; the
 * ops token elsewhere is refused 403. An address past its failed attempts is refused (429) without
 * comparing.
 */
@Injectable()
export class AdminGuard implements CanActivate {
  constructor(
    private readonly credentials: OperatorCredentials,
    private readonly brake: AuthBrake,
    private readonly reflector: Reflector,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<OperatorRequest>();
    const address = clientAddress(request);
    this.brake.begin([address]);
    const token = bearerToken(request);
    const credential = this.credentials.identify(token);
    if (credential === null) {
      this.brake.failed('admin');
      throw new DomainError(
        'unauthorized',
        token === null ? 'missing admin bearer token' : 'invalid admin token',
      );
    }
    // A known token is no guess: the brake forgives it even where it is not admitted.
    this.brake.succeeded([address]);
    if (credential === 'ops' && !this.admitsOpsToken(context)) {
      throw new DomainError('forbidden', 'the ops token is read-only; this route needs the admin token');
    }
    request.operatorCredential = credential;
    return true;
  }

  private admitsOpsToken(context: ExecutionContext): boolean {
    return (
      this.reflector.getAllAndOverride<boolean | undefined>(OPS_TOKEN_ADMITTED, [
        context.getHandler(),
        context.getClass(),
      ]) === true
    );
  }
}
