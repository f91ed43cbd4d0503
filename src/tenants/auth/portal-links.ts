import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import { CLOCK } from '../../common/clock.module';
import type { Clock } from '../../domain/clock';
import {
  portalLinkKey,
  signPortalToken,
  verifyPortalToken,
  PORTAL_TOKEN_PREFIX,
  type PortalLinkClaims,
} from '../../domain/portal-link';

/**
 * Mints and checks portal link tokens with a key derived from HOOKSTREAM_SECRET_KEY alone: never from
 * a key in HOOKSTREAM_SECRET_KEY_PREVIOUS (see `verifyPortalToken`). Whether the tenant has voided a
 * link since is `PortalLinkFloors`' to say.
 */
@Injectable()
export class PortalLinks {
  private readonly key: Buffer;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    this.key = portalLinkKey(config.security.secretKeys[0]);
  }

  /**
   * A token for `tenantId` issued at `issuedAt` (PostgreSQL's clock) that expires after `ttlMs` (the
   * configured default when omitted).
   */
  mint(
    tenantId: string,
    issuedAt: Date,
    ttlMs = this.config.portal.linkTtlMs,
  ): { token: string; expiresAt: Date } {
    const expiresAtSeconds = Math.floor((this.clock.now() + ttlMs) / 1000);
    const claims: PortalLinkClaims = { tenantId, expiresAtSeconds, issuedAtMs: issuedAt.getTime() };
    return { token: signPortalToken(claims, this.key), expiresAt: new Date(expiresAtSeconds * 1000) };
  }

  isPortalToken(token: string): boolean {
    return token.startsWith(PORTAL_TOKEN_PREFIX);
  }

  /**
   * The claims of a token this service minted that has not expired, or null (expired, forged,
   * malformed, signed by a retired key).
   */
  claimsOf(token: string): PortalLinkClaims | null {
    const check = verifyPortalToken(token, this.key, this.clock.now(), this.config.portal.linkMaxTtlMs);
    return check.ok ? check.claims : null;
  }
}
