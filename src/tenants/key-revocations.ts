import { Injectable } from '@nestjs/common';

/**
 * Tells this process's credential caches that a key was revoked, or that a tenant's portal links
 * were voided: at once when it is done here, within moments when another process did it
 * (`KeyRevocationNotices`), and that either may have been missed when the notices' connection was lost.
 */
@Injectable()
export class KeyRevocations {
  private readonly listeners: Array<(keyId: string) => void> = [];
  private readonly voidListeners: Array<(tenantId: string) => void> = [];
  private readonly missedListeners: Array<() => void> = [];

  onRevoked(listener: (keyId: string) => void): void {
    this.listeners.push(listener);
  }

  onPortalLinksVoided(listener: (tenantId: string) => void): void {
    this.voidListeners.push(listener);
  }

  /** Called when revocations may have gone unheard: a listener should forget every key it trusts. */
  onMissed(listener: () => void): void {
    this.missedListeners.push(listener);
  }

  revoked(keyId: string): void {
    for (const listener of this.listeners) listener(keyId);
  }

  /** Every portal link of `tenantId` (lowercase) issued until now was voided. */
  portalLinksVoided(tenantId: string): void {
    for (const listener of this.voidListeners) listener(tenantId);
  }

  missed(): void {
    for (const listener of this.missedListeners) listener();
  }
}
