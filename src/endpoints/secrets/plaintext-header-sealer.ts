import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { Logger } from 'pino';
import { LOGGER } from '../../common/logger.module';
import { EndpointsRepository } from '../endpoints.repository';
import { readHeaders, sealHeaders } from './endpoint-headers';
import { SecretCipher } from './secret-cipher';

/**
 * Seals the custom headers rows written before issue 19 hold in plaintext (migration 1764579600000
 * cannot: it runs without the key). At every boot, so rows a replica of the previous version wrote
 * during a rolling upgrade are sealed by the next restart; `npm run secrets:reencrypt` does the same
 * on demand. Each row under its lock; replicas booting together seal each row once.
 */
@Injectable()
export class PlaintextHeaderSealer implements OnApplicationBootstrap {
  constructor(
    private readonly endpoints: EndpointsRepository,
    private readonly cipher: SecretCipher,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    try {
      const sealed = await this.sealAll();
      if (sealed > 0) this.logger.info({ sealed }, 'sealed plaintext endpoint headers');
    } catch (error) {
      // Not a reason to refuse to serve: delivery reads plaintext rows as they are until sealed.
      this.logger.warn(
        { err: error },
        'could not seal plaintext endpoint headers; the next boot tries again',
      );
    }
  }

  /** Seals every row still holding plaintext headers; returns how many it sealed. */
  async sealAll(): Promise<number> {
    let sealed = 0;
    for (const id of await this.endpoints.idsWithPlaintextHeaders()) {
      await this.endpoints.changeSealedOfAny(id, (row) => {
        if (Object.keys(row.legacyHeaders).length === 0) return null;
        const current = readHeaders(this.cipher, id, row);
        // A row with both (cannot be written by either version) keeps its sealed value authoritative.
        const headers = row.sealedHeaders === null ? row.legacyHeaders : current.headers;
        if (current.problem !== null) return null;
        sealed += 1;
        return sealHeaders(this.cipher, id, headers);
      });
    }
    return sealed;
  }
}
