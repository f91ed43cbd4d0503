import { Injectable } from '@nestjs/common';

/**
 * Tells this process's API key cache that a key was revoked: at once when the revocation is made
 * here, within moments when another process made it (`KeyRevocationNotices`), and that revocations
 * may have been missed when the notices' connection was lost.
 */
@Injectable()
export class KeyRevocations {
  private readonly listeners: Array<(keyId: string) => void> = [];
  private readonly missedListeners: Array<() => void> = [];

  onRevoked(listener: (keyId: string) => void): void {
    this.listeners.push(listener);
  }

  /** Called when revocations may have gone unheard: a listener should forget every key it trusts. */
  onMissed(listener: () => void): void {
    this.missedListeners.push(listener);
  }

  revoked(keyId: string): void {
    for (const listener of this.listeners) listener(keyId);
  }

  missed(): void {
    for (const listener of this.missedListeners) listener();
  }
}
