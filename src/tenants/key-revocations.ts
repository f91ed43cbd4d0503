import { Injectable } from '@nestjs/common';

/**
 * Tells this process's API key cache that a key was revoked here, so it stops working at once on
 * this replica (other replicas forget it when their cache entry expires: HOOKSTREAM_API_KEY_CACHE_TTL).
 */
@Injectable()
export class KeyRevocations {
  private readonly listeners: Array<(keyId: string) => void> = [];

  onRevoked(listener: (keyId: string) => void): void {
    this.listeners.push(listener);
  }

  revoked(keyId: string): void {
    for (const listener of this.listeners) listener(keyId);
  }
}
