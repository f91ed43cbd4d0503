import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import { DomainError } from '../../common/domain-error';
import { AuthBrake, clientAddress } from './auth-brake';
import { bearerToken } from './bearer-token';

/**
 * Admits requests carrying `Authorization: Bearer $HOOKSTREAM_ADMIN_TOKEN`; an address past its
 * failed attempts is refused (429) without comparing.
 */
@Injectable()
export class AdminGuard implements CanActivate {
  private readonly expectedDigest: Buffer;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly brake: AuthBrake,
  ) {
    this.expectedDigest = sha256(config.adminToken);
  }

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const address = clientAddress(request);
    this.brake.begin([address]);
    const token = bearerToken(request);
    // Comparing equal-length digests keeps the comparison constant-time whatever the token's length.
    if (token === null || !timingSafeEqual(sha256(token), this.expectedDigest)) {
      this.brake.failed('admin');
      throw new DomainError(
        'unauthorized',
        token === null ? 'missing admin bearer token' : 'invalid admin token',
      );
    }
    this.brake.succeeded([address]);
    return true;
  }
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
