import { createHash, timingSafeEqual } from 'node:crypto';
import { createParamDecorator, Inject, Injectable, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import { DomainError } from '../../common/domain-error';

/** `admin` admits every operator route; `ops` only the read-only ones (README Section A). */
export type OperatorCredential = 'admin' | 'ops';

/** A request that passed AdminGuard: which credential it carried. */
export interface OperatorRequest extends FastifyRequest {
  operatorCredential?: OperatorCredential;
}

/**
 * The operator tokens, current and previous (HOOKSTREAM_ADMIN_TOKEN, HOOKSTREAM_OPS_TOKEN and their
 * _PREVIOUS lists), kept as SHA-256 digests: tells which credential a presented token is.
 */
@Injectable()
export class OperatorCredentials {
  private readonly digests: Array<[OperatorCredential, Buffer]>;

  constructor(@Inject(APP_CONFIG) config: Pick<AppConfig, 'adminToken' | 'previousAdminTokens' | 'ops'>) {
    const admin = [config.adminToken, ...config.previousAdminTokens];
    this.digests = [
      ...admin.map((token): [OperatorCredential, Buffer] => ['admin', sha256(token)]),
      ...config.ops.tokens.map((token): [OperatorCredential, Buffer] => ['ops', sha256(token)]),
    ];
  }

  /**
   * Comparing equal-length digests keeps each comparison constant-time whatever the token's
   * length, and every digest is compared, so the time does not tell which one matched.
   */
  identify(token: string | null): OperatorCredential | null {
    if (token === null) return null;
    const presented = sha256(token);
    let found: OperatorCredential | null = null;
    for (const [credential, digest] of this.digests) {
      if (timingSafeEqual(presented, digest) && found === null) found = credential;
    }
    return found;
  }
}

/** The credential AdminGuard admitted the request with (use behind AdminGuard). */
export const CurrentOperatorCredential = createParamDecorator(
  (_data: unknown, context: ExecutionContext): OperatorCredential => {
    const credential = context.switchToHttp().getRequest<OperatorRequest>().operatorCredential;
    if (!credential) throw new DomainError('unauthorized', 'route needs AdminGuard');
    return credential;
  },
);

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
