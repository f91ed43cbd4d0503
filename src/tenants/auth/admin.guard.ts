import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import type { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import { DomainError } from '../../common/domain-error';
import { bearerToken } from './bearer-token';

/** Admits requests carrying `Authorization: Bearer $HOOKSTREAM_ADMIN_TOKEN`. */
@Injectable()
export class AdminGuard implements CanActivate {
  private readonly expectedDigest: Buffer;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.expectedDigest = sha256(config.adminToken);
  }

  canActivate(context: ExecutionContext): boolean {
    const token = bearerToken(context.switchToHttp().getRequest<Request>());
    if (token === null) throw new DomainError('unauthorized', 'missing admin bearer token');
    // Comparing equal-length digests keeps the comparison constant-time whatever the token's length.
    if (!timingSafeEqual(sha256(token), this.expectedDigest)) {
      throw new DomainError('unauthorized', 'invalid admin token');
    }
    return true;
  }
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
